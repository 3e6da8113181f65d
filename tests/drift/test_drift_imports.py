"""Importing the drift command loads neither scikit-learn nor skops.

A batch with logged outputs is checked without a model; importing both cost 2.56 s of CPU and
226 MiB before any data in the bench (docs/bench/drift.md). They are imported where a model is
loaded or scored, or where a labelled batch's metrics are computed.
"""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = (
    "import json, sys\n"
    "import mlgitops.commands.drift\n"
    "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'skops'})))\n"
)


def test_importing_the_drift_command_loads_no_sklearn_or_skops() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
