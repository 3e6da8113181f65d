"""PNG versions of the report charts, for teams that post them with ``cml comment --publish``.

The Mermaid charts need no upload and are the default. PNGs need matplotlib (``pip install
'mlgitops[png]'``) and, on GitHub, CML's ``--publish`` to host them, which uploads the images to
CML's asset server (or ``--publish-url``): the reason they are opt-in.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mlgitops.charts import PALETTE
from mlgitops.errors import MlgitopsError
from mlgitops.fsio import atomic_path


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MlgitopsError(
            "PNG charts need matplotlib; install it with pip install 'mlgitops[png]' "
            "or leave out --png-dir to use the Mermaid charts."
        ) from None
    return plt


def _lines(plt: Any, chart: dict[str, Any], title: str, x_label: str, y_label: str, path: Path):
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    for colour, (name, values) in zip(PALETTE, chart["series"].items(), strict=False):
        ax.plot(chart["x"], values, label=name, color=colour, linewidth=2)
    ax.set(title=title, xlabel=x_label, ylabel=y_label, xlim=(0, max(chart["x"])), ylim=(0, 1))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        # Fixed metadata: the same data gives the same bytes.
        fig.savefig(tmp, format="png", metadata={"Software": None})
    plt.close(fig)


def render_png(charts: dict[str, Any], out_dir: str | os.PathLike[str]) -> dict[str, str]:
    """Write the line charts of a report's ``charts`` as PNG files; name -> file path."""
    plt = _pyplot()
    out = Path(out_dir)
    written = {}
    if "roc" in charts:
        path = out / "roc.png"
        _lines(plt, charts["roc"], "ROC curve", "false positive rate", "true positive rate", path)
        written["roc"] = str(path)
    if "error_curve" in charts:
        path = out / "error_curve.png"
        _lines(plt, charts["error_curve"], "Rows within an error", "absolute error", "share", path)
        written["error_curve"] = str(path)
    return written
