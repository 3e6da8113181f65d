"""Write docs/reference.md: every params.yaml key and every CLI command, from the code itself.

The keys come from the pydantic models that parse params.yaml (the framework's in
``mlgitops.params``, the example's own stages' in ``pipelines/``), the commands from click's help.
``tests/docs/test_reference.py`` fails when the committed file differs from what this writes.

Usage::

    python tools/gen_reference.py          # write docs/reference.md
    python tools/gen_reference.py --check  # exit 1 when docs/reference.md is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the example's stages (pipelines/) are not in the package

from mlgitops.cli import main as cli  # noqa: E402
from mlgitops.docs import render_reference  # noqa: E402
from mlgitops.fsio import write_text  # noqa: E402
from mlgitops.params import Params  # noqa: E402
from pipelines.prepare import PrepareParams  # noqa: E402
from pipelines.train import TrainParams  # noqa: E402

OUT = ROOT / "docs" / "reference.md"
GENERATOR = "python tools/gen_reference.py"

#: Who reads each section: the one thing about a section the models cannot say.
READ_BY = {
    "data": "every framework stage",
    "prepare": "the example's `pipelines/prepare.py` (your own stage: replace it)",
    "train": "the example's `pipelines/train.py` (your own stage: replace it)",
    "model": "train, evaluate, release",
    "validate": "`mlgitops validate`",
    "evaluate": "`mlgitops evaluate`",
    "gate": "`mlgitops compare`, `mlgitops pr`",
    "serve": "`mlgitops serve`",
    "release": "`mlgitops release`",
    "deploy": "`mlgitops deploy`, `promote`, `rollback`",
    "model_card": "`mlgitops release`",
    "profile": "`mlgitops profile`",
    "drift": "`mlgitops drift`, `export-log`, `retrain-data`",
    "paths": "everything, and `dvc.yaml` as `${paths.*}`",
}
USER_SECTIONS: dict[str, type[BaseModel]] = {"prepare": PrepareParams, "train": TrainParams}


def sections() -> list[tuple[str, type[BaseModel], str]]:
    """(name, model, read by) of every section: data, the example's own, then the framework's."""
    fields = Params.model_fields.items()
    framework = [(info.alias or name, info.annotation) for name, info in fields]
    ordered = framework[:1] + list(USER_SECTIONS.items()) + framework[1:]
    return [(name, model, READ_BY[name]) for name, model in ordered]  # type: ignore[misc]


def render() -> str:
    return render_reference(sections(), cli, GENERATOR)


def main(argv: list[str]) -> int:
    text = render()
    if argv == ["--check"]:
        current = OUT.read_text(encoding="utf-8") if OUT.is_file() else ""
        if current != text:
            print(f"{OUT.relative_to(ROOT)} is out of date: run {GENERATOR}", file=sys.stderr)
            return 1
        return 0
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    write_text(OUT, text)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
