"""``mlgitops release --check`` on a fresh clone of a project whose raw data is ``dvc add``-ed.

Real git (a bare origin), real DVC (a local remote the raw file was pushed to). The release job
runs ``--check`` before ``dvc repro --pull``, so a ``.dvc``-tracked file that is not pulled yet
must count as an output to fetch, not as a changed dependency.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.e2e.sandbox import ROOT, run
from tests.registry.conftest import cli

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("sandbox_env")]

COPY = f"{sys.executable} -c \"import shutil; shutil.copy('data/raw/adult.csv', 'data/out.csv')\""


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    (work / "data" / "raw").mkdir(parents=True)
    shutil.copy(ROOT / "params.yaml", work / "params.yaml")
    (work / "data" / "raw" / "adult.csv").write_text("age,income\n39,<=50K\n50,>50K\n")
    (work / "dvc.yaml").write_text(
        f"stages:\n  prepare:\n    cmd: {COPY}\n    deps: [data/raw/adult.csv]\n"
        "    outs: [data/out.csv]\n"
    )
    run(work, "git", "init", "-q", "-b", "main")
    run(work, "dvc", "init", "-q")
    run(work, "dvc", "add", "-q", "data/raw/adult.csv")
    run(work, "dvc", "repro", "-q")
    run(work, "dvc", "remote", "add", "-q", "-d", "storage", str(tmp_path / "dvcstore"))
    run(work, "dvc", "push", "-q")
    run(work, "git", "add", "-A")
    run(work, "git", "commit", "-q", "-m", "Raw data with dvc add, one stage")
    run(tmp_path, "git", "clone", "-q", "--bare", str(work), str(tmp_path / "origin.git"))
    run(tmp_path, "git", "clone", "-q", str(tmp_path / "origin.git"), str(tmp_path / "ci"))
    return tmp_path / "ci"


def test_a_dvc_added_raw_file_not_pulled_yet_is_to_fetch_not_stale(clone: Path) -> None:
    assert not (clone / "data" / "raw" / "adult.csv").exists()  # a fresh checkout, as CI has
    check = cli(clone, "release", "--check")
    assert check.exit_code == 0, check.output
    assert "dvc.lock matches commit" in check.stdout
    assert "2 output(s) to fetch or rebuild" in check.stdout  # the raw file and data/out.csv
    run(clone, "dvc", "repro", "--pull")
    again = cli(clone, "release", "--check")
    assert again.exit_code == 0, again.output
    assert "to fetch" not in again.stdout


def test_a_dvc_added_raw_file_changed_without_dvc_add_is_stale(clone: Path) -> None:
    run(clone, "dvc", "pull", "-q")
    (clone / "data" / "raw" / "adult.csv").write_text("age,income\n40,<=50K\n")
    check = cli(clone, "release", "--check")
    assert check.exit_code == 2
    assert "does not match the code, params and data" in check.stderr
    assert "data/raw/adult.csv modified" in check.stderr
