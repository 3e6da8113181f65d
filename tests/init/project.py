"""A repository that is not ours: a regression model on scikit-learn's diabetes data, with its
own stage code, its own dvc.yaml and its own params.yaml (sections and comments of its own).

This is what a team has before ``mlgitops init``: the train stage already saves its Pipeline with
``mlgitops.artifact.save_model`` (the one contract the framework asks of a user's code), and
nothing else of the framework is there.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from sklearn.datasets import load_diabetes

from mlgitops.localci.sandbox import run

PREPARE = '''\
"""Split the diabetes table: every n-th row (by row id) is held out for evaluation."""

import sys

import pandas as pd
import yaml

params = yaml.safe_load(open("params.yaml"))["prepare"]
frame = pd.read_csv(sys.argv[1])
test = frame["row_id"] % params["test_every"] == 0
frame[~test].to_parquet(sys.argv[2], index=False)
frame[test].to_parquet(sys.argv[3], index=False)
'''

TRAIN = '''\
"""Fit our regressor: standardised features into a ridge regression, saved with skops."""

import sys

import pandas as pd
import yaml
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mlgitops.artifact import describe_model, save_model
from mlgitops.params import load_params
from mlgitops.schema import load_schema

ours = yaml.safe_load(open("params.yaml"))["train"]
project = load_params("params.yaml")
data = project.data
frame = pd.read_parquet(sys.argv[1])
features = [c for c in frame.columns if c not in (data.target, data.id_column)]
model = Pipeline([("scale", StandardScaler()), ("ridge", Ridge(alpha=ours["alpha"]))])
model.fit(frame[features], frame[data.target])
metadata = describe_model(
    model,
    name=project.model.name,
    task=data.task,
    target=data.target,
    positive_class=data.positive_class,
    id_column=data.id_column,
    train_frame=frame,
    features=features,
    schema=load_schema(project.paths.schema_file),
    params=ours,
)
save_model(model, metadata, model_path=sys.argv[2], metadata_path=sys.argv[3])
'''

DVC_YAML = """\
# Our pipeline: split the table, then fit the regressor.
stages:
  prepare:
    cmd: python stages/prepare.py data/diabetes.csv data/train.parquet data/test.parquet
    deps:
      - stages/prepare.py
      - data/diabetes.csv
    params:
      - prepare
    outs:
      - data/train.parquet
      - data/test.parquet

  train:
    cmd: python stages/train.py data/train.parquet models/diabetes.skops models/diabetes.json
    deps:  # what the fit reads
      - stages/train.py
      - data/train.parquet
      - data/schema.yaml
    params:
      - train
    outs:
      - models/diabetes.skops
      - models/diabetes.json
"""

PARAMS_YAML = """\
# Knobs of our own stages (the diabetes progression model).

# How the table is split (stages/prepare.py).
prepare:
  test_every: 4     # every 4th row, by row id, is held out for evaluation

# The regressor (stages/train.py).
train:
  alpha: 1.0        # ridge penalty: larger shrinks the coefficients more
"""

INIT_ARGS = (
    "--name",
    "diabetes-model",
    "--task",
    "regression",
    "--target",
    "progression",
    "--id-column",
    "row_id",
    "--data",
    "data/diabetes.csv",
    "--train",
    "data/train.parquet",
    "--test",
    "data/test.parquet",
    "--model",
    "models/diabetes.skops",
    "--metadata",
    "models/diabetes.json",
    "--train-stage",
    "train",
    "--codeowners",
    "@diabetes/ml-team",
)

#: The files the user wrote, as they wrote them.
USER_FILES = {
    "stages/prepare.py": PREPARE,
    "stages/train.py": TRAIN,
    "dvc.yaml": DVC_YAML,
    "params.yaml": PARAMS_YAML,
    "requirements.txt": "scikit-learn\npyyaml\n",  # no mlgitops yet: init pins the one it is
}


def write_project(dest: Path) -> Path:
    """The user's repository in ``dest``: their data, code, pipeline and params, committed."""
    dest.mkdir(parents=True, exist_ok=True)
    frame = load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"})
    frame.insert(0, "row_id", range(len(frame)))
    (dest / "data").mkdir()
    frame.to_csv(dest / "data" / "diabetes.csv", index=False)
    for name, text in USER_FILES.items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_text(textwrap.dedent(text))
    run(dest, "git", "init", "-q", "-b", "main")
    run(dest, "dvc", "init", "-q")
    run(dest, "git", "add", "-A")
    run(dest, "git", "commit", "-q", "-m", "Our diabetes model")
    return dest


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of the repository (but git's and DVC's own), by path."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not ({".git", ".dvc"} & set(p.relative_to(root).parts))
    }
