"""MLflow's side of bench/bench_serve.py: runs in bench/.venv-mlflow, never in the project's env.

Loads the project's skops model with the allowlist the bench passes (the same types mlgitops
trusts), and saves it as an MLflow model (sklearn flavour, skops serialization, a signature
inferred from the bench rows, ``predict_proba`` as the pyfunc predict function, so MLflow computes
the same probabilities mlgitops returns as ``score``).

Usage: ``python mlflow_model.py MODEL.skops TRUSTED.json ROWS.json OUT_DIR``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import mlflow.sklearn
import pandas as pd
import skops.io as sio
from mlflow.models import infer_signature


def main() -> int:
    model_path, trusted_path, rows_path, out = sys.argv[1:5]
    trusted = json.loads(Path(trusted_path).read_text())
    estimator = sio.load(model_path, trusted=trusted)
    rows = pd.DataFrame.from_records(json.loads(Path(rows_path).read_text()))
    signature = infer_signature(rows, estimator.predict_proba(rows))
    mlflow.sklearn.save_model(
        estimator,
        out,
        signature=signature,
        pyfunc_predict_fn="predict_proba",
        serialization_format="skops",
        skops_trusted_types=trusted,
    )
    print(json.dumps({"classes": [str(c) for c in estimator.classes_]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
