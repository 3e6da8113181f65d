"""Pure parts of release and deploy: reading dvc status, the rollback target, the tag message."""

from __future__ import annotations

from datetime import UTC, datetime

from mlgitops.deploy import requirements_txt, runtime_closure
from mlgitops.registry import StageEvent, previous_version, semver_key
from mlgitops.release import classify_status, decision_from_message, lock_outputs, tag_message
from mlgitops.versioning import VersionDecision

OUTPUTS = {"data/prepared/train.parquet", "models/model.skops", "metrics/metrics.json"}


def test_dvc_status_splits_into_stale_stages_and_outputs_to_fetch() -> None:
    status = {
        "/abs/project/dvc.yaml:train": [
            {"changed deps": {"params.yaml": {"train": "modified"}}},
            {"changed deps": {"pipelines/train.py": "modified"}},
            {"changed deps": {"data/prepared/train.parquet": "deleted"}},  # upstream's business
            {"changed outs": {"models/model.skops": "deleted"}},
        ],
        "evaluate": [
            {"changed outs": {"metrics/metrics.json": "modified"}},
            "changed command",
        ],
        "prepare": [{"changed outs": {"data/prepared/train.parquet": "not in cache"}}],
    }
    stale, missing = classify_status(status, OUTPUTS)
    assert stale == [
        "stage evaluate: output metrics/metrics.json modified",
        "stage evaluate: changed command",
        "stage train: params train modified",
        "stage train: pipelines/train.py modified",
    ]
    assert missing == ["data/prepared/train.parquet", "models/model.skops"]
    assert classify_status({}, OUTPUTS) == ([], [])


def test_lock_outputs() -> None:
    lock = {
        "stages": {
            "train": {
                "deps": [{"path": "pipelines/train.py", "md5": "a"}],
                "outs": [{"path": "models/model.skops", "md5": "b"}],
            }
        }
    }
    assert lock_outputs(lock) == {"models/model.skops": "b"}


def _event(version: str, counter: int, kind: str = "assignment") -> StageEvent:
    return StageEvent(
        "m",
        "prod",
        version,
        f"m#prod#{counter}",
        "c",
        datetime(2026, 1, 1, tzinfo=UTC),
        counter,
        kind,
        "",  # type: ignore[arg-type]
    )


def test_rollback_targets_the_version_before_the_current_one() -> None:
    history = [_event("v2.0.0", 5), _event("v1.1.0", 3), _event("v1.0.0", 1)]  # newest first
    assert previous_version(history, "v2.0.0") == "v1.1.0"
    # After that rollback the newest assignment is v1.1.0 again: rolling back once more undoes it.
    assert previous_version([_event("v1.1.0", 6), *history], "v1.1.0") == "v2.0.0"
    assert previous_version([_event("v1.0.0", 1)], "v1.0.0") is None
    assert previous_version([], None) is None


def test_semver_order_is_numeric() -> None:
    versions = ["v0.10.0", "v0.9.1", "v1.0.0", "v1.0.0-rc.1", "v0.2.0"]
    assert sorted(versions, key=semver_key, reverse=True) == [
        "v1.0.0",
        "v1.0.0-rc.1",
        "v0.10.0",
        "v0.9.1",
        "v0.2.0",
    ]


def test_the_tag_message_round_trips_the_decision() -> None:
    decision = VersionDecision("v1.3.0", "minor", "the model changed")
    message = tag_message("m", "v1.3.0", decision, None, (), 0.95, 100, "sha256:ab")
    assert message.startswith("m v1.3.0\n\nBump: minor (the model changed)\nModel: sha256:ab\n")
    again = decision_from_message(message)
    assert (again.bump, again.reason) == ("minor", "the model changed")


def test_requirements_are_pinned_and_exclude_what_inference_does_not_need() -> None:
    text = requirements_txt(
        {"python": "3.11.7", "mlgitops": "0.1.0", "dvc": "3.6", "skops": "0.16.0", "numpy": "2.4"},
        {"numpy": "2.5", "skops": "0.16.0", "prettytable": "3.1", "packaging": "24.0"},
    )
    assert text == (
        "# The libraries the model was trained with (its metadata).\n"
        "numpy==2.4\nskops==0.16.0\n"
        "# What they need at run time, as installed where this bundle was built.\n"
        "packaging==24.0\nprettytable==3.1\n"
    )


def test_the_runtime_closure_follows_requires_dist_without_extras() -> None:
    from importlib import metadata

    closure = runtime_closure(["scikit-learn", "skops", "not-installed-anywhere"])
    # scikit-learn's own requirements, and theirs, at the installed versions.
    for name in ("scikit-learn", "numpy", "scipy", "joblib", "threadpoolctl", "skops"):
        assert closure[name] == metadata.version(name)
    assert "prettytable" in closure  # skops needs it
    assert "not-installed-anywhere" not in closure
    assert "pytest" not in closure  # scipy[test]: extras are not followed
