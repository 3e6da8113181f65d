"""The requirements file the rendered workflows install pins mlgitops.

The workflows run ``python -m pip install -r requirements.txt``: a file without mlgitops gives
CI no framework, and an unpinned ``mlgitops`` installs whatever the index has that day (or
nothing: mlgitops is not on PyPI). init adds an exact pin of the version it runs when the file
names no mlgitops, warns when it names one without a pin, and never rewrites the user's line.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from mlgitops import scaffold
from mlgitops.localci.sandbox import run
from tests.init.conftest import init
from tests.init.project import INIT_ARGS, USER_FILES, snapshot

VERSION = metadata.version("mlgitops")
PIN = f"mlgitops=={VERSION}"
SHA = "0123456789abcdef0123456789abcdef01234567"


def _requirements(repo: Path, text: str | None, crlf: bool = False) -> Path:
    path = repo / "requirements.txt"
    if text is None:
        path.unlink()
    else:
        path.write_bytes(text.replace("\n", "\r\n" if crlf else "\n").encode())
    run(repo, "git", "commit", "-q", "-am", "Our requirements")
    return path


def test_the_users_file_names_no_mlgitops_so_init_adds_an_exact_pin(user_repo: Path) -> None:
    assert "mlgitops" not in USER_FILES["requirements.txt"]
    result = init(user_repo, *INIT_ARGS)
    assert result.exit_code == 0, result.output
    assert f"add       requirements.txt: requirement mlgitops ({PIN}," in result.output
    assert "requirements.txt" in result.output.split("init: wrote ", 1)[1].splitlines()[0]
    text = (user_repo / "requirements.txt").read_text()
    assert text.startswith(USER_FILES["requirements.txt"])  # the user's lines stay first
    assert text.endswith(f"\n{PIN}\n")
    assert "mlgitops @ git+https://github.com/<org>/mlgitops@<sha>" in text
    # What CI installs from it is this mlgitops (the harness's pip check; no network).
    pip = subprocess.run(
        [sys.executable, "-m", "mlgitops.localci.pip_noop", "-r", "requirements.txt"],
        cwd=user_repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert pip.returncode == 0 and PIN in pip.stdout, pip.stdout + pip.stderr
    # Idempotent: the pin is in place now.
    before = snapshot(user_repo)
    again = init(user_repo, *INIT_ARGS, "--check", "-v")
    assert again.exit_code == 0, again.output
    assert f"in place  requirements.txt: requirement mlgitops ({PIN})" in again.output
    assert snapshot(user_repo) == before


@pytest.mark.parametrize(
    "line",
    [
        "mlgitops",
        "mlgitops>=0.1",
        "MLGitOps ~= 0.1.0",
        "mlgitops==0.*",
        "mlgitops @ git+https://github.com/acme/mlgitops@main",
        "-e git+https://github.com/acme/mlgitops#egg=mlgitops",
    ],
)
def test_an_unpinned_mlgitops_is_a_warning_and_stays_as_it_is(user_repo: Path, line: str) -> None:
    _requirements(user_repo, f"scikit-learn\n{line}  # ours\n")
    before = (user_repo / "requirements.txt").read_bytes()
    result = init(user_repo, *INIT_ARGS)
    assert result.exit_code == 0, result.output
    assert f"warning: requirements.txt: `{line}` does not pin mlgitops" in result.output
    assert (user_repo / "requirements.txt").read_bytes() == before
    # ... on every run, --check included, which still finds everything in place.
    check = init(user_repo, *INIT_ARGS, "--check")
    assert check.exit_code == 0, check.output
    assert "does not pin mlgitops" in check.output


@pytest.mark.parametrize(
    "line",
    [
        "mlgitops==0.0.9",
        "mlgitops===0.1.0",
        f"mlgitops @ git+https://github.com/acme/mlgitops@{SHA}",
        f"-e git+https://github.com/acme/mlgitops@{SHA[:12]}#egg=mlgitops",
    ],
)
def test_a_pinned_mlgitops_is_left_alone(user_repo: Path, line: str) -> None:
    _requirements(user_repo, f"{line}\nscikit-learn\n")
    before = (user_repo / "requirements.txt").read_bytes()
    result = init(user_repo, *INIT_ARGS)
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    assert (user_repo / "requirements.txt").read_bytes() == before


def test_a_pin_in_an_included_file_counts(user_repo: Path) -> None:
    (user_repo / "requirements").mkdir()
    (user_repo / "requirements" / "base.txt").write_text(f"{PIN}\n")
    run(user_repo, "git", "add", "requirements")
    _requirements(user_repo, "-r requirements/base.txt\nscikit-learn\n")
    before = (user_repo / "requirements.txt").read_bytes()
    result = init(user_repo, *INIT_ARGS, "-v")
    assert result.exit_code == 0, result.output
    assert f"requirement mlgitops ({PIN}, in requirements/base.txt)" in result.output
    assert (user_repo / "requirements.txt").read_bytes() == before


def test_crlf_and_a_missing_last_newline_are_kept(user_repo: Path) -> None:
    _requirements(user_repo, "scikit-learn\npyyaml", crlf=True)
    assert init(user_repo, *INIT_ARGS).exit_code == 0
    text = (user_repo / "requirements.txt").read_bytes().decode()
    assert text.startswith("scikit-learn\r\npyyaml\r\n\r\n# The framework")
    assert text.endswith(f"\r\n{PIN}\r\n") and "\n" not in text.replace("\r\n", "")


def test_without_a_requirements_file_init_creates_one(user_repo: Path) -> None:
    _requirements(user_repo, None)
    result = init(user_repo, *INIT_ARGS)
    assert result.exit_code == 0, result.output
    assert "create    requirements.txt: requirement mlgitops" in result.output
    assert (user_repo / "requirements.txt").read_text() == scaffold.pin_block(VERSION)
    pr = (user_repo / ".github/workflows/pr.yml").read_text()
    assert "python -m pip install -r requirements.txt" in pr


def test_a_pyproject_without_mlgitops_is_a_warning(user_repo: Path) -> None:
    _requirements(user_repo, None)
    (user_repo / "pyproject.toml").write_text(
        '[project]\nname = "diabetes"\nversion = "1"\ndependencies = ["scikit-learn"]\n'
    )
    result = init(user_repo, *INIT_ARGS)
    assert result.exit_code == 0, result.output
    assert "python -m pip install -e ." in (user_repo / ".github/workflows/pr.yml").read_text()
    assert "warning: pyproject.toml: [project].dependencies names no mlgitops" in result.output
    assert not (user_repo / "requirements.txt").exists()


@pytest.mark.parametrize(
    ("line", "pinned"),
    [
        ("mlgitops==1.2.3", True),
        ("mlgitops==1.2.3 ; python_version >= '3.11'", True),
        ("mlgitops[serve]==1.2.3", True),
        ("mlgitops>=1.2.3", False),
        ("mlgitops!=1.2.3", False),
        ("mlgitops==1.2.3,<2", False),
        (f"mlgitops @ git+ssh://git@github.com/acme/mlgitops.git@{SHA}", True),
        ("mlgitops @ git+ssh://git@github.com/acme/mlgitops.git@v1.2.3", False),
    ],
)
def test_what_counts_as_a_pin(line: str, pinned: bool) -> None:
    assert scaffold.requirement_is_pinned(line) is pinned
