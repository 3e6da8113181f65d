"""Content hashes of data and files, stable across file formats and library versions."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """A hash of a frame's column names, dtypes and values (not of its file encoding)."""
    digest = hashlib.sha256()
    for name, dtype in frame.dtypes.items():
        digest.update(f"{name}\x1f{dtype}\x1e".encode())
    row_hashes = pd.util.hash_pandas_object(frame, index=False, categorize=False)
    digest.update(row_hashes.to_numpy().tobytes())
    return "sha256:" + digest.hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def bytes_sha256(data: bytes) -> str:
    """The sha256 of some bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()
