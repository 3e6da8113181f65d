"""Train stage (user code): fit a scikit-learn Pipeline from raw columns to a prediction.

The features are every column of the schema except the id and the target; their dtypes in the
schema decide how each is encoded. The model is saved with skops, with its metadata beside it.

Run by dvc.yaml as
``python -m pipelines.train --train ... --schema ... --model ... --metadata ...``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from mlgitops.artifact import describe_model, save_model
from mlgitops.errors import MlgitopsError
from mlgitops.fsio import read_table
from mlgitops.params import Section, load_params, load_section
from mlgitops.schema import Schema, load_schema


class TrainParams(Section):
    """The estimator at the end of the pipeline and its hyper-parameters."""

    estimator: Literal["hist_gradient_boosting", "logistic_regression"] = Field(
        description="The estimator at the end of the pipeline."
    )
    learning_rate: float = Field(
        gt=0, le=1, description="Shrinkage of each boosting step (hist_gradient_boosting)."
    )
    max_iter: int = Field(
        ge=1,
        le=10_000,
        description="Boosting iterations (or solver iterations for logistic regression).",
    )
    max_leaf_nodes: int = Field(
        ge=2, le=1024, description="Leaves per tree at most (hist_gradient_boosting)."
    )
    l2_regularization: float = Field(
        ge=0,
        description="L2 penalty (logistic regression uses C = 1 / l2_regularization).",
    )
    min_category_frequency: int = Field(
        ge=1, description="Rarer categories are grouped as infrequent."
    )
    seed: int = Field(description="Seeds the estimator.")


def feature_columns(schema: Schema, *, target: str, id_column: str) -> tuple[list[str], list[str]]:
    """(numeric, categorical) feature names, in schema order."""
    numeric, categorical = [], []
    for name, spec in schema.columns.items():
        if name in (target, id_column):
            continue
        (numeric if spec.dtype in ("integer", "number") else categorical).append(name)
    return numeric, categorical


def build_pipeline(numeric: list[str], categorical: list[str], params: TrainParams) -> Pipeline:
    """The whole model: raw columns in, prediction out."""
    if params.estimator == "hist_gradient_boosting":
        # Trees take ordinal codes with native categorical splits; missing stays missing.
        encode = ColumnTransformer(
            [
                ("numeric", "passthrough", numeric),
                (
                    "categorical",
                    OrdinalEncoder(
                        handle_unknown="use_encoded_value",
                        unknown_value=np.nan,
                        encoded_missing_value=np.nan,
                        min_frequency=params.min_category_frequency,
                    ),
                    categorical,
                ),
            ],
            verbose_feature_names_out=False,
        )
        model = HistGradientBoostingClassifier(
            learning_rate=params.learning_rate,
            max_iter=params.max_iter,
            max_leaf_nodes=params.max_leaf_nodes,
            l2_regularization=params.l2_regularization,
            categorical_features=[False] * len(numeric) + [True] * len(categorical),
            early_stopping=False,
            random_state=params.seed,
        )
    else:
        encode = ColumnTransformer(
            [
                (
                    "numeric",
                    Pipeline(
                        [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
                    ),
                    numeric,
                ),
                (
                    "categorical",
                    Pipeline(
                        [
                            ("impute", SimpleImputer(strategy="constant", fill_value="(missing)")),
                            (
                                "onehot",
                                OneHotEncoder(
                                    handle_unknown="infrequent_if_exist",
                                    min_frequency=params.min_category_frequency,
                                    sparse_output=False,
                                ),
                            ),
                        ]
                    ),
                    categorical,
                ),
            ]
        )
        model = LogisticRegression(
            C=1.0 / max(params.l2_regularization, 1e-6),
            max_iter=params.max_iter,
            random_state=params.seed,
        )
    return Pipeline([("encode", encode), ("model", model)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml", type=Path)
    parser.add_argument("--train", required=True, type=Path, help="train split (parquet)")
    parser.add_argument("--schema", required=True, type=Path, help="schema file")
    parser.add_argument("--model", required=True, type=Path, help="model file to write (.skops)")
    parser.add_argument("--metadata", required=True, type=Path, help="metadata JSON to write")
    args = parser.parse_args(argv)
    try:
        project = load_params(args.params)
        params = load_section(args.params, "train", TrainParams)
        schema = load_schema(args.schema)
        frame = read_table(args.train, "train split")
        data = project.data
        numeric, categorical = feature_columns(schema, target=data.target, id_column=data.id_column)
        features = numeric + categorical
        missing = [c for c in (*features, data.target) if c not in frame.columns]
        if missing:
            raise MlgitopsError(f"train split {args.train} lacks column(s) {', '.join(missing)}.")
    except MlgitopsError as exc:
        print(f"train: error: {exc}", file=sys.stderr)
        return 2
    pipeline = build_pipeline(numeric, categorical, params)
    pipeline.fit(frame[features], frame[data.target])
    metadata = describe_model(
        pipeline,
        name=project.model.name,
        task=data.task,
        target=data.target,
        positive_class=data.positive_class,
        id_column=data.id_column,
        train_frame=frame,
        features=features,
        schema=schema,
        params=params.model_dump(),
    )
    digest = save_model(pipeline, metadata, model_path=args.model, metadata_path=args.metadata)
    print(f"train: fitted {params.estimator} on {len(frame)} rows -> {args.model} ({digest[:19]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
