"""Data sets that ship inside the package, so examples and tests never download anything.

``adult``: the UCI Adult (Census Income) training file, 32,561 rows, as described in
``datasets/README.md`` (source and licence: CC BY 4.0).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

AVAILABLE = ("adult",)


def path(name: str) -> Path:
    """The file of a bundled data set."""
    if name not in AVAILABLE:
        raise ValueError(f"unknown data set {name!r}; available: {', '.join(AVAILABLE)}")
    return Path(str(resources.files(__package__).joinpath(f"{name}.csv.gz")))


def load(name: str) -> pd.DataFrame:
    """A bundled data set as a frame (missing values as nulls)."""
    return pd.read_csv(path(name))
