"""Model artifacts: a scikit-learn estimator saved with skops, and its metadata JSON.

Saving goes through skops only (never pickle or joblib). The skops file is made byte-for-byte
reproducible: skops names its zip members and memo ids after Python object ids, which differ on
every run, so they are renumbered in order of appearance and the zip is rewritten with fixed
timestamps. The same training run therefore gives the same file hash, and DVC, the release job and
the registry see "unchanged" when nothing changed.

Loading checks the file's types against an explicit allowlist before anything is constructed:
skops' own trusted defaults (scikit-learn, numpy, scipy containers) plus the few extra types listed
in :data:`TRUSTED_TYPES` and the project's ``model.extra_trusted_types``. Anything else is refused
with the list of offending types.
"""

from __future__ import annotations

import io
import json
import os
import platform
import zipfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import skops.io as sio

from mlgitops.errors import ArtifactError
from mlgitops.fingerprint import bytes_sha256, file_sha256, frame_fingerprint
from mlgitops.fsio import read_json, write_bytes, write_json
from mlgitops.schema import Schema, schema_from_dict

METADATA_VERSION = 1

#: Types outside skops' defaults that the supported scikit-learn models are made of.
TRUSTED_TYPES: tuple[str, ...] = (
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    # HistGradientBoosting's categorical preprocessor holds partial(check_array, ...); skops checks
    # the wrapped function against this list too, so trusting partial admits nothing else.
    "functools.partial",
    "sklearn.utils.validation.check_array",
)

LIBRARIES = ("mlgitops", "scikit-learn", "skops", "numpy", "pandas", "scipy", "pyarrow", "dvc")


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a model's behaviour depends on."""
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def _renumber(node: Any, ids: dict[int, int], files: dict[str, str]) -> Any:
    """Replace skops' object-id based memo ids and member names with ordinals."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "__id__" and isinstance(value, int):
                out[key] = ids.setdefault(value, len(ids))
            elif key == "file" and isinstance(value, str):
                if value not in files:
                    files[value] = f"{len(files):05d}{Path(value).suffix}"
                out[key] = files[value]
            else:
                out[key] = _renumber(value, ids, files)
        return out
    if isinstance(node, list):
        return [_renumber(v, ids, files) for v in node]
    return node


def canonical_skops(data: bytes) -> bytes:
    """Rewrite a skops archive so identical models give identical bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    schema = json.loads(source.read("schema.json"))
    files: dict[str, str] = {}
    schema = _renumber(schema, {}, files)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:

        def put(name: str, payload: bytes) -> None:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, payload)

        put("schema.json", json.dumps(schema, indent=2, sort_keys=False).encode())
        for old, new in sorted(files.items(), key=lambda item: item[1]):
            put(new, source.read(old))
    return out.getvalue()


def describe_model(
    estimator: Any,
    *,
    name: str,
    task: str,
    target: str,
    positive_class: Any,
    id_column: str,
    train_frame: pd.DataFrame,
    features: list[str],
    schema: Schema,
    params: dict[str, Any],
) -> dict[str, Any]:
    """The metadata that travels with a model (pure: no I/O)."""
    classes = getattr(estimator, "classes_", None)
    y = train_frame[target]
    balance = None
    if task != "regression":
        counts = y.value_counts().sort_index()
        balance = {str(k): int(v) for k, v in counts.items()}
    input_schema = schema.subset(features)
    return {
        "schema_version": METADATA_VERSION,
        "name": name,
        "task": task,
        "target": target,
        "positive_class": _plain(positive_class),
        "classes": None if classes is None else [_plain(c) for c in classes],
        "id_column": id_column,
        "features": [{"name": f, "dtype": schema.columns[f].dtype} for f in features],
        "input_schema": input_schema.to_dict(),
        "schema_hash": input_schema.fingerprint(),
        "estimator": _estimator_summary(estimator),
        "params": params,
        "data": {
            "train_rows": len(train_frame),
            "train_hash": frame_fingerprint(train_frame),
            "class_counts": balance,
        },
        "libraries": library_versions(),
    }


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _estimator_summary(estimator: Any) -> list[str]:
    steps = getattr(estimator, "steps", None)
    if steps:
        return [f"{name}: {type(step).__name__}" for name, step in steps]
    return [type(estimator).__name__]


def save_model(
    estimator: Any,
    metadata: dict[str, Any],
    *,
    model_path: str | os.PathLike[str],
    metadata_path: str | os.PathLike[str],
) -> str:
    """Save ``estimator`` with skops and ``metadata`` beside it; return the model's sha256.

    The metadata records the model file's hash, so a metadata file always names its model.
    """
    payload = canonical_skops(sio.dumps(estimator))
    digest = bytes_sha256(payload)
    write_bytes(model_path, payload)
    write_json(metadata_path, {**metadata, "model_sha256": digest})
    return digest


@dataclass(frozen=True)
class LoadedModel:
    """A loaded estimator and its metadata."""

    estimator: Any
    metadata: dict[str, Any]

    @property
    def features(self) -> list[str]:
        return [f["name"] for f in self.metadata["features"]]

    @property
    def task(self) -> str:
        return self.metadata["task"]

    @property
    def input_schema(self) -> Schema:
        return schema_from_dict(self.metadata["input_schema"], "model metadata input_schema")


def trusted_types(extra: tuple[str, ...] | list[str] = ()) -> tuple[str, ...]:
    """The allowlist: the framework's extra trusted types plus the project's own."""
    return tuple(dict.fromkeys((*TRUSTED_TYPES, *extra)))


def load_estimator(path: str | os.PathLike[str], extra_trusted: tuple[str, ...] = ()) -> Any:
    """Load a skops file, refusing any type that is not on the allowlist."""
    p = Path(path)
    if not p.is_file():
        raise ArtifactError(f"model file {p} does not exist; run the train stage or dvc pull.")
    data = p.read_bytes()
    allow = set(trusted_types(extra_trusted))
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:
        raise ArtifactError(
            f"model file {p} is not a readable skops archive ({type(exc).__name__}); "
            "retrain it or restore it with dvc checkout."
        ) from exc
    refused = sorted(set(untrusted) - allow)
    if refused:
        raise ArtifactError(
            f"model file {p} contains types that are not on the allowlist: {', '.join(refused)}; "
            "if you trust them, add them to model.extra_trusted_types in params.yaml."
        )
    try:
        return sio.loads(data, trusted=sorted(set(untrusted)))
    except Exception as exc:
        raise ArtifactError(f"model file {p} could not be loaded ({exc}); retrain it.") from exc


def load_model(
    model_path: str | os.PathLike[str],
    metadata_path: str | os.PathLike[str],
    extra_trusted: tuple[str, ...] = (),
    *,
    verify_hash: bool = True,
) -> LoadedModel:
    """Load a model and its metadata, checking that the metadata describes this very file."""
    metadata = read_json(metadata_path, "model metadata")
    if not isinstance(metadata, dict) or "features" not in metadata:
        raise ArtifactError(f"model metadata {metadata_path} is not mlgitops model metadata.")
    if verify_hash and "model_sha256" in metadata:
        actual = file_sha256(model_path) if Path(model_path).is_file() else None
        if actual is not None and actual != metadata["model_sha256"]:
            raise ArtifactError(
                f"model file {model_path} does not match its metadata {metadata_path} "
                "(different sha256); the two come from different runs, reproduce or check out both."
            )
    estimator = load_estimator(model_path, extra_trusted)
    return LoadedModel(estimator=estimator, metadata=metadata)
