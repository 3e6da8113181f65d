"""How the next model version is numbered (pure core: no I/O).

The rules, in order:

1. The model file is byte-identical to the latest registered version's, behind the same input
   schema: nothing to release.
2. No version is registered yet: the first release is ``release.first_version``.
3. A ``Release-Bump: major|minor|patch|none`` trailer in the merged commit's message decides.
4. The input schema changed incompatibly: **major**. Incompatible means a record the old schema
   accepted could be refused or misread by the new one (see :func:`schema_changes`).
5. Otherwise the model changed: **minor**.

A patch is never chosen on its own: only a person knows that a retrained model is a fix.

The bump starts from the highest release version (``vX.Y.Z``) any registration ever took,
deprecated ones included (``gto deprecate`` keeps the tag, so its number is not free again).
Pre-releases (``v1.0.0-rc.1``, which GTO accepts from people) are never a base: releases here
are ``vX.Y.Z`` only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from mlgitops.errors import ConfigError
from mlgitops.schema import ColumnSpec, Schema

Bump = Literal["major", "minor", "patch", "none"]
BUMPS: tuple[Bump, ...] = ("major", "minor", "patch", "none")
TRAILER = "Release-Bump"

_RELEASE = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")

# A number column read as the other numeric type keeps its value only in this direction.
_WIDENING = {("integer", "number")}


@dataclass(frozen=True)
class SchemaChange:
    """One difference between two input schemas, and whether it breaks old records."""

    column: str
    rule: str
    old: Any
    new: Any
    breaking: bool
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "rule": self.rule,
            "old": self.old,
            "new": self.new,
            "breaking": self.breaking,
            "why": self.why,
        }

    def sentence(self) -> str:
        kind = "breaking" if self.breaking else "compatible"
        return f"{self.column}: {self.rule} {self.old!r} -> {self.new!r} ({kind}: {self.why})"


def _range_changes(name: str, old: ColumnSpec, new: ColumnSpec) -> list[SchemaChange]:
    found = []
    if old.min != new.min:
        narrowed = new.min is not None and (old.min is None or new.min > old.min)
        why = "values the old schema accepted are now below min" if narrowed else "min relaxed"
        found.append(SchemaChange(name, "min", old.min, new.min, narrowed, why))
    if old.max != new.max:
        narrowed = new.max is not None and (old.max is None or new.max < old.max)
        why = "values the old schema accepted are now above max" if narrowed else "max relaxed"
        found.append(SchemaChange(name, "max", old.max, new.max, narrowed, why))
    return found


def _column_changes(name: str, old: ColumnSpec, new: ColumnSpec) -> list[SchemaChange]:
    found = []
    if old.dtype != new.dtype:
        widening = (old.dtype, new.dtype) in _WIDENING
        why = (
            "every integer is a number"
            if widening
            else f"{old.dtype} values are refused or read differently as {new.dtype}"
        )
        found.append(SchemaChange(name, "dtype", old.dtype, new.dtype, not widening, why))
        if not widening:
            return found  # range and category rules of a different type do not compare
    if old.nullable and not new.nullable:
        found.append(
            SchemaChange(name, "nullable", True, False, True, "null values are now refused")
        )
    elif new.nullable and not old.nullable:
        found.append(
            SchemaChange(name, "nullable", False, True, False, "null values are now accepted")
        )
    found.extend(_range_changes(name, old, new))
    if old.allowed != new.allowed:
        old_set = None if old.allowed is None else set(old.allowed)
        new_set = None if new.allowed is None else set(new.allowed)
        if new_set is None:
            breaking, why = False, "any value is now accepted"
        elif old_set is None:
            breaking, why = True, "categories are now restricted"
        else:
            dropped = sorted(map(str, old_set - new_set))
            breaking = bool(dropped)
            why = (
                f"categories no longer accepted: {', '.join(dropped)}"
                if dropped
                else "categories added (or reordered)"
            )
        old_shown = None if old.allowed is None else list(old.allowed)
        new_shown = None if new.allowed is None else list(new.allowed)
        found.append(SchemaChange(name, "allowed", old_shown, new_shown, breaking, why))
    return found


def schema_changes(old: Schema, new: Schema) -> tuple[SchemaChange, ...]:
    """Every difference between a model's old and new input schemas.

    Breaking (a record the old schema accepted could be refused or misread by the new one):

    - a feature added: old records lack it, and the server requires every feature (null stands
      for a missing value, so even a nullable new feature refuses old records);
    - a feature removed, unless the new schema ignores extra columns: old records carry it and
      are refused as having an unknown field;
    - a dtype changed, except integer to number (every integer is a number);
    - a range narrowed (min raised or added, max lowered or added);
    - categories narrowed (a value dropped from ``allowed``, or ``allowed`` added);
    - nullable to not nullable;
    - ``extra_columns`` from ignore to error.

    The reverse of each (widening, relaxing, adding categories, allowing nulls) is compatible.
    Descriptions and the order of features do not matter: records are keyed by name.
    """
    found: list[SchemaChange] = []
    for name in new.columns:
        if name not in old.columns:
            spec = new.columns[name]
            found.append(
                SchemaChange(
                    name, "added", None, spec.dtype, True, "old records do not have this feature"
                )
            )
    ignores_extra = new.extra_columns == "ignore"
    for name, spec in old.columns.items():
        if name not in new.columns:
            why = (
                "the new schema ignores extra columns"
                if ignores_extra
                else "old records carry it and are refused as an unknown field"
            )
            found.append(SchemaChange(name, "removed", spec.dtype, None, not ignores_extra, why))
    for name, spec in old.columns.items():
        if name in new.columns:
            found.extend(_column_changes(name, spec, new.columns[name]))
    if old.extra_columns != new.extra_columns:
        breaking = new.extra_columns == "error"
        why = (
            "records with extra fields are now refused"
            if breaking
            else "extra fields are now ignored"
        )
        found.append(
            SchemaChange(
                "(table)", "extra_columns", old.extra_columns, new.extra_columns, breaking, why
            )
        )
    return tuple(found)


def parse_bump(trailers: list[tuple[str, str]], where: str = "the commit message") -> Bump | None:
    """The ``Release-Bump`` trailer's value, or None when there is none.

    Raises:
        ConfigError: the trailer has an unknown value, or is given twice with different values.
    """
    values = {v.strip().lower() for k, v in trailers if k.strip().lower() == TRAILER.lower()}
    if not values:
        return None
    if len(values) > 1:
        raise ConfigError(
            f"{where} has conflicting {TRAILER} trailers ({', '.join(sorted(values))}); keep one."
        )
    (value,) = values
    if value not in BUMPS:
        raise ConfigError(
            f"{where} has {TRAILER}: {value}, which is not one of {', '.join(BUMPS)}; fix the "
            "trailer (amend the merge commit, or push a commit that sets it)."
        )
    return value  # type: ignore[return-value]


def parse_release(version: str) -> tuple[int, int, int]:
    """``vX.Y.Z`` as a triple of numbers.

    Raises:
        ValueError: ``version`` is not of that form (pre-releases are not produced here).
    """
    match = _RELEASE.match(version)
    if not match:
        raise ValueError(f"{version!r} is not a release version of the form vX.Y.Z")
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


def is_release(version: str) -> bool:
    """Whether ``version`` is a release ``vX.Y.Z`` (not a pre-release or build)."""
    return _RELEASE.match(version) is not None


def highest_release(versions: Iterable[str | None]) -> str | None:
    """The highest release version among ``versions`` (pre-releases and None are skipped)."""
    releases = [v for v in versions if v is not None and is_release(v)]
    return max(releases, key=parse_release) if releases else None


def bump_version(version: str, bump: Bump) -> str:
    """The version after ``version`` for a bump (``none`` is not a bump)."""
    major, minor, patch = parse_release(version)
    if bump == "major":
        return f"v{major + 1}.0.0"
    if bump == "minor":
        return f"v{major}.{minor + 1}.0"
    if bump == "patch":
        return f"v{major}.{minor}.{patch + 1}"
    raise ValueError("bump none does not produce a version")


@dataclass(frozen=True)
class VersionDecision:
    """What to release: the version (None when nothing), the bump and why."""

    version: str | None
    bump: Bump | Literal["first", "unchanged"]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "bump": self.bump, "reason": self.reason}


def decide_version(
    *,
    latest: str | None,
    first_version: str,
    model_changed: bool,
    changes: tuple[SchemaChange, ...],
    trailer: Bump | None,
    what_changed: str = "the model changed",
    taken: Iterable[str] = (),
) -> VersionDecision:
    """Apply the numbering rules of this module (see its docstring).

    Args:
        latest: The latest registered version the model is compared with, None before the
            first release.
        first_version: The version of a first release.
        model_changed: Whether the artifact differs from ``latest``'s (model file or schema).
        changes: The input schema's changes since ``latest``.
        trailer: The ``Release-Bump`` trailer of the merged commit, if any.
        what_changed: How the reason of a minor bump puts it.
        taken: Every version a registration of this artifact ever used, deprecated ones
            included: the new number goes past the highest release among them.
    """
    if latest is not None and not model_changed:
        return VersionDecision(None, "unchanged", f"the model is identical to {latest}'s")
    if trailer == "none":
        return VersionDecision(None, "none", f"the commit says {TRAILER}: none")
    base = highest_release([latest, *taken])
    if base is None:
        return VersionDecision(first_version, "first", "the first registered version")
    past = ""
    if base != latest:
        past = f" (numbered past {base}, which a deprecated version holds)"
    if latest is None or not is_release(latest):
        # Every earlier release was deprecated: the number still moves past them.
        bump: Bump = trailer or "minor"
        why = f"the first active release version{past}"
        return VersionDecision(bump_version(base, bump), bump, why)
    breaking = [c for c in changes if c.breaking]
    if trailer is not None:
        why = f"the commit says {TRAILER}: {trailer}"
        if breaking and trailer != "major":
            why += f" (although the input schema changed incompatibly: {breaking[0].sentence()})"
        return VersionDecision(bump_version(base, trailer), trailer, why + past)
    if breaking:
        listed = "; ".join(c.sentence() for c in breaking)
        why = f"the input schema changed incompatibly: {listed}"
        return VersionDecision(bump_version(base, "major"), "major", why + past)
    return VersionDecision(bump_version(base, "minor"), "minor", what_changed + past)
