"""One source of truth: this repository's workflows, and the framework's stages, plots and
artifact in its dvc.yaml, are exactly what ``mlgitops init`` renders for this project.

The templates (``src/mlgitops/templates/init/``) are the source. To change a workflow, edit its
template and re-render: ``mlgitops init --only workflows --force`` (the other parts, and every
value of params.yaml, are this project's own and stay as they are).
"""

from __future__ import annotations

from pathlib import Path

import yaml

import tests.workflows.test_workflow_policy as policy
from mlgitops import scaffold
from mlgitops.localci.sandbox import ROOT
from mlgitops.yamlsplice import YamlText, plain
from tests.init.conftest import init

MARKERS = ("requirements.txt", "pyproject.toml", "src/mlgitops/__init__.py")
#: What the release job (contents: write) runs or trusts, in any repository init renders for.
PRIVILEGED = (
    ".github/workflows/release.yml",
    ".github/workflows/new.yml",
    ".github/CODEOWNERS",
    ".github/dependabot.yml",
    "pyproject.toml",
    "requirements.txt",
    "requirements-dev.txt",
    "src/anything/module.py",
    "dvc.yaml",
    "dvc.lock",
    "params.yaml",
)


def codeowners(path: Path) -> list[tuple[str, list[str]]]:
    rules = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            pattern, *owners = line.split()
            rules.append((pattern, owners))
    return rules


def owned_by(rules: list[tuple[str, list[str]]], path: str) -> list[str]:
    """The owners of ``path``: the last matching rule's (GitHub's rule)."""
    matching = [owners for pattern, owners in rules if policy._codeowners_match(pattern, path)]
    return matching[-1] if matching else []


def _read(path: str) -> str | None:
    file = ROOT / path
    return file.read_bytes().decode("utf-8") if file.is_file() else None


def _settings() -> scaffold.Settings:
    files = {p: _read(p) for p in [*_workflow_paths(), scaffold.CODEOWNERS]}
    return scaffold.resolve_settings(
        scaffold.InitOptions(),
        params_text=_read("params.yaml"),
        dvc_text=_read("dvc.yaml"),
        workflows=files,
        present=frozenset(m for m in MARKERS if (ROOT / m).is_file()),
    )


def _workflow_paths() -> list[str]:
    return [f"{scaffold.WORKFLOW_DIR}/{name}" for name in scaffold.WORKFLOWS]


def test_this_repositorys_settings_are_read_from_it() -> None:
    settings = _settings()
    assert (settings.name, settings.task, settings.train_stage) == (
        "income-model",
        "binary",
        "train",
    )
    assert settings.install_args == "-e ."  # this repository installs itself
    assert settings.framework_source == "src/mlgitops"  # and its stages depend on its code


def test_the_workflows_are_the_rendering_byte_for_byte() -> None:
    rendered = scaffold.render_workflows(_settings())
    assert sorted(rendered) == sorted([*_workflow_paths(), scaffold.CODEOWNERS])
    for path, text in rendered.items():
        current = _read(path)
        assert current == text, (
            f"{path} differs from its template (src/mlgitops/templates/init/); edit the template "
            "and run `mlgitops init --only workflows --force`"
        )


def test_the_framework_parts_of_dvc_yaml_are_the_rendering() -> None:
    settings = _settings()
    want = YamlText(scaffold.render_dvc(settings), "rendered")
    have = yaml.safe_load(_read("dvc.yaml"))
    for stage in scaffold.FRAMEWORK_STAGES:
        assert have["stages"][stage] == plain(want.node(("stages", stage))), stage
        # ... and as text, so a hand edit of the stage cannot drift from the template either
        assert want.block(("stages", stage)) in _dedented_stages(), stage
    assert have["plots"] == plain(want.node(("plots",)))
    assert have["artifacts"][settings.name] == plain(want.node(("artifacts", settings.name)))


def _dedented_stages() -> str:
    return "\n".join(line[2:] for line in (_read("dvc.yaml") or "").splitlines()) + "\n"


def test_init_finds_everything_in_place_here(tmp_path: Path) -> None:
    result = init(ROOT, "--check", "-v")
    assert result.exit_code == 0, result.output
    assert "the framework is in place; nothing to do" in result.output
    assert "conflict" not in result.output


def test_codeowners_owns_what_the_privileged_jobs_run() -> None:
    owned = codeowners(ROOT / ".github" / "CODEOWNERS")
    placeholder = [scaffold.PLACEHOLDER_OWNERS]
    for path in (*PRIVILEGED, "src/mlgitops/release.py", "pipelines/train.py"):
        assert owned_by(owned, path) == placeholder, path
    assert owned_by(owned, "README.md") == []
    assert owned_by(owned, "tests/unit/test_params.py") == []


def test_a_requirements_file_elsewhere_and_the_stage_code_are_owned() -> None:
    settings = scaffold.resolve_settings(
        scaffold.InitOptions(
            name="m", task="regression", target="y", id_column="id", requirements="ci/deps.txt"
        ),
        params_text=None,
        dvc_text=(
            "stages:\n  train:\n    cmd: bash run.sh\n    deps: [run.sh, lib/fit.py, data/x.csv]\n"
            "    outs: [models/model.skops, models/model.json]\n"
        ),
        workflows={},
        present=frozenset(),
    )
    paths = scaffold.codeowned_paths(settings)
    assert "/ci/deps.txt" in paths
    assert paths[-3:] == ["/params.yaml", "/lib/", "/run.sh"]  # data is not code
    assert "/data/" not in paths
