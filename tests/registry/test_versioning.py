"""Version numbering: the schema-compatibility rules, the bump trailer, the decision (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgitops.errors import ConfigError
from mlgitops.gittags import trailers
from mlgitops.schema import Schema, schema_from_dict
from mlgitops.versioning import (
    bump_version,
    decide_version,
    is_release,
    parse_bump,
    schema_changes,
)
from tests.e2e.sandbox import run

BASE = {
    "min_rows": 1,
    "extra_columns": "error",
    "columns": {
        "age": {"dtype": "integer", "min": 17, "max": 100},
        "hours": {"dtype": "number", "min": 1.0},
        "workclass": {"dtype": "category", "nullable": True, "allowed": ["Private", "State-gov"]},
        "note": {"dtype": "string"},
    },
}


def _schema(edit=None) -> Schema:
    raw = {**BASE, "columns": {k: dict(v) for k, v in BASE["columns"].items()}}
    if edit:
        edit(raw)
    return schema_from_dict(raw, "test schema")


def _only(old: Schema, new: Schema) -> tuple[str, str, bool]:
    (change,) = schema_changes(old, new)
    return change.column, change.rule, change.breaking


# Each case: (edit of the old schema into the new one, the one change expected, breaking?)
CASES = [
    (
        "feature added",
        lambda s: s["columns"].update(race={"dtype": "category"}),
        ("race", "added", True),
    ),
    (
        "nullable feature added (old records lack the field, which is refused as missing)",
        lambda s: s["columns"].update(race={"dtype": "category", "nullable": True}),
        ("race", "added", True),
    ),
    ("feature removed", lambda s: s["columns"].pop("note"), ("note", "removed", True)),
    (
        "integer to number",
        lambda s: s["columns"]["age"].update(dtype="number"),
        ("age", "dtype", False),
    ),
    (
        "number to integer",
        lambda s: s["columns"]["hours"].update(dtype="integer"),
        ("hours", "dtype", True),
    ),
    (
        "category to string",
        lambda s: s["columns"]["workclass"].update(dtype="string", allowed=None),
        ("workclass", "dtype", True),
    ),
    ("min raised", lambda s: s["columns"]["age"].update(min=18), ("age", "min", True)),
    ("min lowered", lambda s: s["columns"]["age"].update(min=16), ("age", "min", False)),
    ("max lowered", lambda s: s["columns"]["age"].update(max=90), ("age", "max", True)),
    ("max removed", lambda s: s["columns"]["age"].update(max=None), ("age", "max", False)),
    ("max added", lambda s: s["columns"]["hours"].update(max=99.0), ("hours", "max", True)),
    (
        "category dropped",
        lambda s: s["columns"]["workclass"].update(allowed=["Private"]),
        ("workclass", "allowed", True),
    ),
    (
        "category added",
        lambda s: s["columns"]["workclass"].update(
            allowed=["Private", "State-gov", "Never-worked"]
        ),
        ("workclass", "allowed", False),
    ),
    (
        "categories restricted",
        lambda s: s["columns"]["note"].update(allowed=["a"]),
        ("note", "allowed", True),
    ),
    (
        "categories lifted",
        lambda s: s["columns"]["workclass"].update(allowed=None),
        ("workclass", "allowed", False),
    ),
    (
        "nullable to not nullable",
        lambda s: s["columns"]["workclass"].update(nullable=False),
        ("workclass", "nullable", True),
    ),
    (
        "not nullable to nullable",
        lambda s: s["columns"]["age"].update(nullable=True),
        ("age", "nullable", False),
    ),
    ("extra columns now refused", None, ("(table)", "extra_columns", True)),
    (
        "extra columns now ignored",
        lambda s: s.update(extra_columns="ignore"),
        ("(table)", "extra_columns", False),
    ),
]


@pytest.mark.parametrize(
    ("edit", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_schema_change_is_breaking_exactly_when_an_old_record_could_be_refused(
    edit, expected
) -> None:
    old, new = _schema(), _schema(edit)
    if edit is None:  # ignore -> error
        old, new = _schema(lambda s: s.update(extra_columns="ignore")), _schema()
    assert _only(old, new) == expected


def test_a_removed_feature_is_compatible_when_the_new_schema_ignores_extra_fields() -> None:
    old = _schema()
    new = _schema(lambda s: (s["columns"].pop("note"), s.update(extra_columns="ignore")))
    removed = [c for c in schema_changes(old, new) if c.rule == "removed"]
    assert [(c.column, c.breaking) for c in removed] == [("note", False)]


def test_descriptions_and_feature_order_are_not_changes() -> None:
    old = _schema()
    new = _schema(
        lambda s: s.update(
            columns={
                "note": {"dtype": "string", "description": "free text"},
                **{k: v for k, v in s["columns"].items() if k != "note"},
            }
        )
    )
    assert schema_changes(old, new) == ()
    assert old.fingerprint() == new.fingerprint()


def test_bumps() -> None:
    assert bump_version("v1.2.3", "major") == "v2.0.0"
    assert bump_version("v1.2.3", "minor") == "v1.3.0"
    assert bump_version("v1.2.3", "patch") == "v1.2.4"
    assert bump_version("v0.9.0", "minor") == "v0.10.0"
    with pytest.raises(ValueError, match="not a release version"):
        bump_version("1.2.3", "minor")


def _decide(**kw):
    args = {
        "latest": "v1.2.0",
        "first_version": "v0.1.0",
        "model_changed": True,
        "changes": (),
        "trailer": None,
    }
    return decide_version(**{**args, **kw})


def test_the_decision_rules_in_order() -> None:
    breaking = schema_changes(_schema(), _schema(lambda s: s["columns"]["age"].update(max=90)))
    compatible = schema_changes(_schema(), _schema(lambda s: s["columns"]["age"].update(max=120)))
    # 1. identical model: nothing, whatever the trailer says
    unchanged = _decide(model_changed=False, trailer="major")
    assert (unchanged.version, unchanged.bump) == (None, "unchanged")
    # 2. first release: the configured first version
    first = _decide(latest=None)
    assert (first.version, first.bump) == ("v0.1.0", "first")
    assert _decide(latest=None, first_version="v1.0.0").version == "v1.0.0"
    # 3. the trailer decides, even against the schema (and the reason says so)
    patch = _decide(trailer="patch", changes=breaking)
    assert patch.version == "v1.2.1"
    assert "although the input schema changed incompatibly" in patch.reason
    assert _decide(trailer="none").version is None
    assert _decide(trailer="major").version == "v2.0.0"
    # 4. an incompatible schema: major; 5. otherwise minor
    assert _decide(changes=breaking).version == "v2.0.0"
    assert "age: max" in _decide(changes=breaking).reason
    assert _decide(changes=compatible).version == "v1.3.0"
    assert _decide().version == "v1.3.0"


def test_the_trailer_is_parsed_by_git_and_checked(tmp_path: Path) -> None:
    run(tmp_path, "git", "init", "-q", "-b", "main")
    message = (
        "Retrain with more data\n\nThe body mentions Release-Bump: major in passing.\n\n"
        "Release-Bump: Patch\nSigned-off-by: A <a@example.invalid>\n"
    )
    run(tmp_path, "git", "commit", "-q", "--allow-empty", "-m", message)
    found = trailers(tmp_path, "HEAD")
    assert ("Release-Bump", "Patch") in found
    assert parse_bump(found) == "patch"
    run(
        tmp_path,
        "git",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "No trailer\n\nThis could say Release-Bump: major, but it does not.",
    )
    assert parse_bump(trailers(tmp_path, "HEAD")) is None
    with pytest.raises(
        ConfigError, match=r"Release-Bump: huge, which is not one of major, minor, patch, none"
    ):
        parse_bump([("Release-Bump", "huge")])
    with pytest.raises(ConfigError, match="conflicting Release-Bump trailers"):
        parse_bump([("Release-Bump", "major"), ("release-bump", "minor")])


def test_the_number_goes_past_every_version_a_registration_took() -> None:
    # v1.3.0 was released and deprecated: the latest active version is v1.2.0 again.
    taken = ("v1.3.0", "v1.2.0", "v1.0.0")
    minor = _decide(taken=taken)
    assert minor.version == "v1.4.0"
    assert "numbered past v1.3.0" in minor.reason
    assert _decide(taken=taken, trailer="patch").version == "v1.3.1"
    assert _decide(taken=("v1.2.0",)).version == "v1.3.0"  # nothing deprecated: as before
    # Every version deprecated: the first active one still goes past them.
    again = _decide(latest=None, taken=("v0.1.0",))
    assert (again.version, again.bump) == ("v0.2.0", "minor")


def test_a_pre_release_is_never_the_base_and_never_crashes() -> None:
    # GTO accepts v1.0.0-rc.1 from a person; releases here are vX.Y.Z only.
    assert _decide(taken=("v1.0.0-rc.1", "v1.2.0")).version == "v1.3.0"
    assert _decide(latest="v1.0.0-rc.1", taken=("v1.0.0-rc.1",)).version == "v0.1.0"
    assert _decide(latest="v2.0.0-rc.1", taken=("v2.0.0-rc.1", "v1.2.0")).version == "v1.3.0"
    assert is_release("v1.2.0") and not is_release("v1.0.0-rc.1")
