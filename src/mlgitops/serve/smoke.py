"""The smoke test every deploy runs: a served model must answer exactly what evaluation answered.

The evaluate stage keeps a few evaluation rows with their offline predictions
(``paths.smoke_sample``, written by :func:`mlgitops.evaluate.smoke_sample`). A deployed server
passes when ``GET /health`` says it is serving, ``GET /version`` names the expected version, and
``POST /predict`` on those rows returns the same labels (exactly) and the same scores (within
:data:`TOLERANCE`); it must also refuse a record the schema does not allow (422), so the gate is
known to be on. :func:`smoke_test_model` runs the same comparison in process, before a hot swap.

Why 1e-9: the server runs the same skops file through the same code path on the same inputs, and
JSON carries a float64 exactly (Python writes the shortest repr that round-trips), so an honest
deployment reproduces the offline scores to within a few ulps (reordered sums in a batched matrix
product differ by ~1e-16). A different model, different preprocessing or different library
versions move scores by far more than 1e-9. The tolerance separates the two with nine orders of
magnitude to spare either way.

Only the standard library is used for HTTP (no proxy: the target is a server we started).
"""

from __future__ import annotations

import json
import math
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from mlgitops.artifact import LoadedModel
from mlgitops.errors import DataError
from mlgitops.fsio import read_json
from mlgitops.schema import Schema

SMOKE_VERSION = 1
SAMPLE_VERSION = 1

#: Largest absolute difference allowed between a served score and the offline one.
TOLERANCE = 1e-9

_MAX_SHOWN = 3


@dataclass(frozen=True)
class SmokeCheck:
    """One check of a smoke test: its name, whether it passed, and what was found."""

    name: str
    ok: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class SmokeResult:
    """All checks of one smoke test; ``ok`` when every check passed."""

    ok: bool
    checks: tuple[SmokeCheck, ...]

    @classmethod
    def of(cls, checks: list[SmokeCheck]) -> SmokeResult:
        return cls(ok=bool(checks) and all(c.ok for c in checks), checks=tuple(checks))

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SMOKE_VERSION,
            "ok": self.ok,
            "checks": [c.to_dict() for c in self.checks],
        }

    def summary(self) -> str:
        """One line: passed with the checks' names, or failed with each failed check's detail."""
        if self.ok:
            names = ", ".join(c.name for c in self.checks)
            return f"smoke test passed ({len(self.checks)} checks: {names})"
        failed = "; ".join(f"{c.name}: {c.detail}" for c in self.checks if not c.ok)
        return f"smoke test failed: {failed}"


@dataclass(frozen=True)
class SmokeSample:
    """Rows of evaluation data and the predictions the model made for them offline."""

    features: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    expected: tuple[dict[str, Any], ...]
    origin: str = "smoke sample"

    @property
    def kind(self) -> str:
        """``binary`` (a score), ``multiclass`` (probabilities) or ``regression`` (a value)."""
        keys = self.expected[0].keys()
        if "score" in keys:
            return "binary"
        if any(k.startswith("proba_") for k in keys):
            return "multiclass"
        return "regression"

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SAMPLE_VERSION,
            "features": list(self.features),
            "rows": [dict(r) for r in self.rows],
            "expected": [dict(e) for e in self.expected],
        }


def smoke_sample_from_dict(raw: Any, origin: str = "smoke sample") -> SmokeSample:
    """Check a decoded smoke sample document and return it (pure)."""

    def bad(what: str) -> DataError:
        return DataError(
            f"{origin} is not a valid smoke sample: {what}; re-run the evaluate stage "
            "(mlgitops evaluate) to write it again."
        )

    if not isinstance(raw, dict):
        raise bad("it must be a JSON object")
    if raw.get("schema_version") != SAMPLE_VERSION:
        raise bad(f"schema_version is {raw.get('schema_version')!r}, expected {SAMPLE_VERSION}")
    features, rows, expected = raw.get("features"), raw.get("rows"), raw.get("expected")
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features or [0]):
        raise bad("features must be a non-empty list of names")
    if not isinstance(rows, list) or not rows:
        raise bad("rows must be a non-empty list")
    if not isinstance(expected, list) or len(expected) != len(rows):
        raise bad(f"expected must list one prediction per row ({len(rows)})")
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or set(row) != set(features):
            raise bad(f"row {i} must hold exactly the features {', '.join(features)}")
    keys = None
    for i, e in enumerate(expected):
        if not isinstance(e, dict) or "y_pred" not in e:
            raise bad(f"expected[{i}] must be an object with y_pred")
        if keys is None:
            keys = set(e)
        elif set(e) != keys:
            raise bad(f"expected[{i}] has other keys than expected[0]")
        for key, value in e.items():
            if key != "y_pred" and not (_is_number(value)):
                raise bad(f"expected[{i}].{key} must be a number")
    return SmokeSample(
        features=tuple(features),
        rows=tuple(rows),
        expected=tuple(expected),
        origin=origin,
    )


def load_smoke_sample(path: str | os.PathLike[str]) -> SmokeSample:
    """Read and check ``paths.smoke_sample`` (raises :class:`DataError` naming the file)."""
    return smoke_sample_from_dict(read_json(path, "smoke sample"), f"smoke sample {path}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _short(payload: Any, limit: int = 300) -> str:
    """A response body for a message: compact JSON, cut at ``limit`` characters."""
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _close(a: Any, b: Any) -> bool:
    return _is_number(a) and _is_number(b) and math.isfinite(a) and abs(a - b) <= TOLERANCE


def _row_problems(i: int, got: Any, want: dict[str, Any], kind: str) -> list[str]:
    if not isinstance(got, dict) or "label" not in got:
        return [f"row {i}: the answer {got!r} has no label"]
    problems = []
    label = got["label"]
    if kind == "regression":
        if not _close(label, want["y_pred"]):
            problems.append(f"row {i}: value {label!r}, expected {want['y_pred']!r}")
        return problems
    if label != want["y_pred"]:
        problems.append(f"row {i}: label {label!r}, expected {want['y_pred']!r}")
    if kind == "binary":
        score = got.get("score")
        if not _close(score, want["score"]):
            diff = f" (off by {abs(score - want['score']):.3g})" if _is_number(score) else ""
            problems.append(f"row {i}: score {score!r}, expected {want['score']!r}{diff}")
        return problems
    probabilities = got.get("probabilities")
    if not isinstance(probabilities, dict):
        return [*problems, f"row {i}: the answer has no probabilities"]
    for key, value in want.items():
        if key.startswith("proba_"):
            cls = key.removeprefix("proba_")
            if not _close(probabilities.get(cls), value):
                problems.append(
                    f"row {i}: probability of {cls} {probabilities.get(cls)!r}, expected {value!r}"
                )
    return problems


def compare_predictions(sample: SmokeSample, answers: Any) -> SmokeCheck:
    """The ``predict`` check: do the answers reproduce the sample's offline predictions?"""
    if not isinstance(answers, list) or len(answers) != len(sample.rows):
        got = len(answers) if isinstance(answers, list) else type(answers).__name__
        return SmokeCheck("predict", False, f"expected {len(sample.rows)} predictions, got {got}")
    problems = []
    for i, (got, want) in enumerate(zip(answers, sample.expected, strict=True)):
        problems.extend(_row_problems(i, got, want, sample.kind))
    if problems:
        shown = "; ".join(problems[:_MAX_SHOWN])
        more = f" (and {len(problems) - _MAX_SHOWN} more)" if len(problems) > _MAX_SHOWN else ""
        return SmokeCheck(
            "predict",
            False,
            f"{len(problems)} difference(s) from the offline predictions of {sample.origin} "
            f"(tolerance {TOLERANCE:g}): {shown}{more}",
        )
    return SmokeCheck(
        "predict",
        True,
        f"{len(sample.rows)} rows reproduce the offline predictions (tolerance {TOLERANCE:g})",
    )


def _features_check(sample: SmokeSample, features: list[str]) -> SmokeCheck:
    missing = [f for f in features if f not in sample.features]
    extra = [f for f in sample.features if f not in features]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"the sample lacks {', '.join(missing)}")
        if extra:
            parts.append(f"the model does not take {', '.join(extra)}")
        return SmokeCheck(
            "features", False, f"{sample.origin} does not fit the model: {'; '.join(parts)}"
        )
    return SmokeCheck("features", True, f"the sample has the model's {len(features)} features")


def _schema_check(sample: SmokeSample, schema: Schema) -> tuple[SmokeCheck, bool]:
    from mlgitops.serve.records import RecordValidator

    errors = RecordValidator(schema).check(list(sample.rows))
    if errors:
        shown = "; ".join(f"row {e.record} {e.field}: {e.error}" for e in errors[:_MAX_SHOWN])
        return SmokeCheck(
            "schema",
            False,
            f"{len(errors)} value(s) of {sample.origin} break the model's input schema: {shown}",
        ), False
    return SmokeCheck("schema", True, "every sample row passes the model's input schema"), True


def smoke_test_model(model: LoadedModel, sample: SmokeSample) -> SmokeResult:
    """Run the sample through ``model`` in process, exactly as the server would (no HTTP).

    Checks: ``features`` (the sample fits the model), ``schema`` (its rows pass the model's input
    schema, so the server would accept them) and ``predict`` (the answers reproduce the offline
    predictions within :data:`TOLERANCE`).
    """
    from mlgitops.serve.holder import predictions

    checks = [_features_check(sample, model.features)]
    if not checks[0].ok:
        return SmokeResult.of(checks)
    schema = model.input_schema
    schema_check, valid = _schema_check(sample, schema)
    checks.append(schema_check)
    if valid:
        try:
            answers = predictions(model, schema, list(sample.rows))
        except Exception as exc:  # the model itself failed: that is the finding
            checks.append(
                SmokeCheck("predict", False, f"the model raised {type(exc).__name__}: {exc}")
            )
        else:
            checks.append(compare_predictions(sample, answers))
    return SmokeResult.of(checks)


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _request(url: str, *, timeout: float, body: Any = None) -> tuple[int | None, Any, str | None]:
    """(status, decoded JSON or None, error) of one request; error is None when it was answered."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, payload = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, None, f"could not reach {url} ({reason}); is the server running there?"
    try:
        return status, json.loads(payload), None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return status, None, None


def smoke_test(
    base_url: str,
    sample: SmokeSample,
    *,
    expected_version: str | None = None,
    timeout: float = 10.0,
) -> SmokeResult:
    """Smoke-test the server at ``base_url`` (e.g. ``http://127.0.0.1:8080``).

    Checks, each reported whether or not the others pass:

    - ``health``: ``GET /health`` answers 200 with status ok;
    - ``version``: ``GET /version`` names ``expected_version`` (when given);
    - ``predict``: ``POST /predict`` with the sample rows answers 200, labelled with the expected
      version, with exactly the offline labels and scores within :data:`TOLERANCE`;
    - ``rejects_invalid``: a sample row without its first feature is refused with 422 naming
      that feature (the schema gate is on).
    """
    base = base_url.rstrip("/")
    checks = []

    status, payload, error = _request(f"{base}/health", timeout=timeout)
    if error:
        checks.append(SmokeCheck("health", False, error))
    elif status == 200 and isinstance(payload, dict) and payload.get("status") == "ok":
        checks.append(SmokeCheck("health", True, f"healthy, serving {payload.get('version')}"))
    else:
        checks.append(
            SmokeCheck("health", False, f"GET /health answered {status}: {_short(payload)}")
        )

    status, payload, error = _request(f"{base}/version", timeout=timeout)
    served = payload.get("version") if isinstance(payload, dict) else None
    if error:
        checks.append(SmokeCheck("version", False, error))
    elif status != 200 or served is None:
        checks.append(
            SmokeCheck("version", False, f"GET /version answered {status}: {_short(payload)}")
        )
    elif expected_version is not None and served != expected_version:
        checks.append(
            SmokeCheck(
                "version", False, f"serves version {served!r}, expected {expected_version!r}"
            )
        )
    else:
        wanted = "as expected" if expected_version is not None else "(no version expected)"
        checks.append(SmokeCheck("version", True, f"serves version {served!r} {wanted}"))

    rows = [dict(r) for r in sample.rows]
    status, payload, error = _request(f"{base}/predict", timeout=timeout, body={"records": rows})
    if error:
        checks.append(SmokeCheck("predict", False, error))
    elif status != 200 or not isinstance(payload, dict):
        checks.append(
            SmokeCheck("predict", False, f"POST /predict answered {status}: {_short(payload)}")
        )
    elif expected_version is not None and payload.get("version") != expected_version:
        checks.append(
            SmokeCheck(
                "predict",
                False,
                f"answered as version {payload.get('version')!r}, expected {expected_version!r}",
            )
        )
    else:
        checks.append(compare_predictions(sample, payload.get("predictions")))

    # A sample row without its first feature is invalid under every schema.
    dropped = sample.features[0]
    probe = {k: v for k, v in rows[0].items() if k != dropped}
    status, payload, error = _request(f"{base}/predict", timeout=timeout, body={"records": [probe]})
    named = isinstance(payload, dict) and any(
        isinstance(e, dict) and e.get("field") == dropped for e in payload.get("errors", [])
    )
    if error:
        checks.append(SmokeCheck("rejects_invalid", False, error))
    elif status == 422 and named:
        checks.append(
            SmokeCheck(
                "rejects_invalid", True, f"a record without {dropped} is refused (422 naming it)"
            )
        )
    else:
        checks.append(
            SmokeCheck(
                "rejects_invalid",
                False,
                f"a record without {dropped} got {status} instead of 422 naming that field",
            )
        )
    return SmokeResult.of(checks)
