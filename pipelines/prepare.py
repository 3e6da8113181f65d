"""Prepare stage (user code): read the raw data, split it train/test, write parquet.

The split is stratified by the target and decided by a seeded hash of each row's id, not by a
shuffle: within each class the rows with the smallest hashes are held out, so which side a row is on
depends on its id, not on its position or on a random draw. Rows almost never change side when
rows are added: only rows next to a class's cut can move, and adding ``m`` rows of a class moves at
most ``m`` of its old rows, all in one direction (on the bundled data, adding the last 12,561 rows
to the first 20,000 moves 37 old rows, 0.2%; a shuffle would move about 37%). So a pull request
that adds data moves very few old evaluation rows into training, and the PR report counts them.

Run by dvc.yaml as ``python -m pipelines.prepare --raw ... --train ... --test ...``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import Field

from mlgitops.errors import MlgitopsError
from mlgitops.fsio import read_table, write_parquet
from mlgitops.params import Section, load_params, load_section


class PrepareParams(Section):
    """How the raw rows are split into the training and the evaluation split."""

    seed: int = Field(description="Seeds the hash that assigns each row to train or test.")
    test_size: float = Field(
        gt=0,
        lt=1,
        description="Share of rows held out for evaluation (stratified by the target).",
    )


def _mix(keys: np.ndarray) -> np.ndarray:
    """SplitMix64: a fast, well-spread 64-bit hash of each key."""
    z = keys.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        z += np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def split(
    frame: pd.DataFrame, *, target: str, id_column: str, test_size: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified, seeded, hash-based split into (train, test), each sorted by row id."""
    ids = pd.to_numeric(frame[id_column]).to_numpy()
    with np.errstate(over="ignore"):
        salted = ids.astype(np.uint64) ^ _mix(np.array([seed], dtype=np.int64))[0]
    key = _mix(salted)
    is_test = np.zeros(len(frame), dtype=bool)
    labels = frame[target].to_numpy()
    for label in pd.unique(labels):
        members = np.flatnonzero(labels == label)
        take = round(len(members) * test_size)
        order = members[np.argsort(key[members], kind="stable")]
        is_test[order[:take]] = True
    train = frame.loc[~is_test].sort_values(id_column, kind="stable").reset_index(drop=True)
    test = frame.loc[is_test].sort_values(id_column, kind="stable").reset_index(drop=True)
    return train, test


def _shown(value: object) -> str:
    return (
        "null" if pd.isna(value) else repr(value.item() if isinstance(value, np.generic) else value)
    )


def check_ids(raw: pd.DataFrame, id_column: str, where: Path) -> None:
    """Refuse ids the split cannot hash: each must be a whole number, present and unique.

    Raises:
        MlgitopsError: naming the file, the column, an example row and what to do.
    """
    ids = raw[id_column]
    numeric = pd.to_numeric(ids, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(numeric) | (numeric != np.round(numeric))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise MlgitopsError(
            f"raw data {where}: column {id_column} (data.id_column) has {int(bad.sum())} row(s) "
            f"whose id is missing or not a whole number (e.g. data row {first + 1}: "
            f"{_shown(ids.iloc[first])}); the split hashes each row's id, so give every row a "
            "whole-number id (its line number will do), or set data.id_column to such a column."
        )
    twice = ids.duplicated(keep=False).to_numpy()
    if twice.any():
        shown = ", ".join(_shown(v) for v in pd.unique(ids[twice])[:5])
        raise MlgitopsError(
            f"raw data {where}: column {id_column} (data.id_column) has {int(twice.sum())} rows "
            f"sharing an id (e.g. {shown}); give every row its own id: the split and the pull-"
            "request check's row pairing both rely on it."
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml", type=Path)
    parser.add_argument("--raw", required=True, type=Path, help="raw data file")
    parser.add_argument("--train", required=True, type=Path, help="train split (parquet)")
    parser.add_argument("--test", required=True, type=Path, help="test split (parquet)")
    args = parser.parse_args(argv)
    try:
        data = load_params(args.params).data
        params = load_section(args.params, "prepare", PrepareParams)
        raw = read_table(args.raw, "raw data")
        for column, key in ((data.id_column, "data.id_column"), (data.target, "data.target")):
            if column not in raw.columns:
                listed = ", ".join(map(str, raw.columns[:15])) + (
                    ", ..." if len(raw.columns) > 15 else ""
                )
                raise MlgitopsError(
                    f"raw data {args.raw} has no column {column} ({key}); its columns are "
                    f"{listed}: add the column, or set {key} in {args.params} to one of them."
                )
        check_ids(raw, data.id_column, args.raw)
        train, test = split(
            raw,
            target=data.target,
            id_column=data.id_column,
            test_size=params.test_size,
            seed=params.seed,
        )
    except MlgitopsError as exc:
        print(f"prepare: error: {exc}", file=sys.stderr)
        return 2
    write_parquet(args.train, train)
    write_parquet(args.test, test)
    print(f"prepare: {len(train)} train rows -> {args.train}, {len(test)} test rows -> {args.test}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
