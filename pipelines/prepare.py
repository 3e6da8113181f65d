"""Prepare stage (user code): read the raw data, split it train/test, write parquet.

The split is stratified by the target and decided by a seeded hash of each row's id, not by a
shuffle: a row stays on the same side when rows are added or removed, so a pull request that adds
data does not silently move old evaluation rows into training.

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
        for column in (data.id_column, data.target):
            if column not in raw.columns:
                raise MlgitopsError(f"raw data {args.raw} has no column {column}.")
        if raw[data.id_column].duplicated().any():
            raise MlgitopsError(f"raw data {args.raw}: {data.id_column} has duplicate ids.")
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
