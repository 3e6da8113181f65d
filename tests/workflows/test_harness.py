"""The harness itself: runner semantics, expressions, mapped actions and the gh/cml shim.

Small workflows written here run in small repositories (no DVC, no training), so these tests
are quick; what they pin down is that the harness behaves like the runner where our workflows
depend on it, and refuses what it does not model.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from mlgitops.localci import expressions
from mlgitops.localci.expressions import Checked, ExpressionError, Scope
from mlgitops.localci.harness import (
    Forge,
    NotTriggered,
    RunFailed,
    WorkflowError,
    map_pip_installs,
    parse_file_command,
    workflow_commands,
)

CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2"
SETUP_PYTHON = "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065 # v5.6.0"
SETUP_CML = "iterative/setup-cml@097a56dfd473ec71fc3653645fcb15e3e2f4b75d # v2.0.0"


def _forge(tmp_path: Path, workflow: str, extra: dict[str, str] | None = None) -> Forge:
    files = {".github/workflows/w.yml": textwrap.dedent(workflow), "README.md": "hello\n"}
    return Forge.from_files(tmp_path / "forge", {**files, **(extra or {})})


def _push(forge: Forge, check: bool = True):
    run_ = forge.dev
    (run_ / "README.md").write_text("hello again\n")
    from mlgitops.localci.sandbox import run

    run(run_, "git", "commit", "-q", "-am", "Touch")
    return forge.run("w.yml", forge.push("main"), check=check)


# ---------------------------------------------------------------------------- file commands


def test_file_commands_read_like_the_runner() -> None:
    text = "a=1\nb=x=y\n\nstory<<EOF\nline one\n\nline=three\nEOF\nempty=\n"
    assert parse_file_command(text, "t") == [
        ("a", "1"),
        ("b", "x=y"),
        ("story", "line one\n\nline=three"),
        ("empty", ""),
    ]
    # "=" before "<<" makes it a plain value, as in the runner.
    assert parse_file_command("k=v<<X\n", "t") == [("k", "v<<X")]
    with pytest.raises(WorkflowError, match="matching delimiter not found"):
        parse_file_command("story<<EOF\nno end\n", "t")
    with pytest.raises(WorkflowError, match="invalid format"):
        parse_file_command("just text\n", "t")
    with pytest.raises(WorkflowError, match="empty name"):
        parse_file_command("=value\n", "t")


def test_workflow_commands_and_stop_commands() -> None:
    out = "::error file=a,line=1::bad\n::stop-commands::tok\n::error::ignored\n::tok::\n::notice::n"
    assert workflow_commands(out) == [
        ("error", {"file": "a", "line": "1"}, "bad"),
        ("notice", {}, "n"),
    ]


# ---------------------------------------------------------------------------- expressions


def _scope(**contexts) -> Scope:
    return Scope(contexts, {"success": True, "failure": False, "always": True, "cancelled": False})


def test_expressions_follow_githubs_semantics() -> None:
    github = {"event_name": "push", "event": {"pull_request": None, "n": 3}, "repository": "o/r"}
    scope = _scope(github=github, env={"X": "1"})
    ev = expressions.evaluate
    assert ev("github.event_name == 'PUSH'", scope) is True  # strings ignore case
    assert ev("github.event.n == '3'", scope) is True  # a number and a numeric string
    assert ev("github.event.pull_request.head.sha", scope) is None  # missing: null
    assert ev("github.event.pull_request.head.sha == ''", scope) is True  # null == '' (0 == 0)
    assert ev("github['repository']", scope) == "o/r"
    assert ev("env.X && 'yes' || 'no'", scope) == "yes"  # && and || return operands
    assert ev("!env.Y && 'unset'", scope) == "unset"
    assert ev("'it''s'", scope) == "it's"
    assert ev("(1 == 1) && !(2 == 3)", scope) is True
    assert expressions.interpolate("a-${{ github.event.n }}-${{ env.Y }}-b", scope) == "a-3--b"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("contains(github.ref, 'main')", "unsupported function contains()"),
        ("github.run_number > 1", "unsupported operator '>'"),
        ("matrix.os == 'linux'", "unsupported context 'matrix'"),
        ("github.event.*.x", "unsupported object filter"),
        ("github.ref ==", "in expression 'github.ref =='"),
    ],
)
def test_unsupported_expressions_are_errors_naming_them(text: str, message: str) -> None:
    scope = _scope(github={"ref": "refs/heads/main"})
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        expressions.evaluate(text, scope)


def test_if_conditions() -> None:
    steps = Checked("steps", {"a": Checked("steps.a", {"outputs": {"x": "1"}})})
    ok = _scope(github={"event_name": "push"}, steps=steps)
    failed = Scope(
        ok.contexts, {"success": False, "failure": True, "always": True, "cancelled": False}
    )
    assert expressions.condition(None, ok) is True
    assert expressions.condition(None, failed) is False  # the implicit success()
    assert expressions.condition("steps.a.outputs.x == '1'", failed) is False
    assert expressions.condition("always() && steps.a.outputs.x == '1'", failed) is True
    assert expressions.condition("failure()", failed) is True
    assert expressions.condition("${{ github.event_name == 'push' }}", ok) is True
    with pytest.raises(ExpressionError, match=r"steps\.b does not exist"):
        expressions.condition("steps.b.outputs.x == '1'", ok)
    with pytest.raises(ExpressionError, match="always true"):
        expressions.condition("${{ github.event_name }} == 'push'", ok)


# ---------------------------------------------------------------------------- pip


def test_pip_install_lines_become_the_install_check() -> None:
    script = "set -x\npython -m pip install -e . \\\n  --group dev\necho done\n"
    mapped = map_pip_installs(script, "t")
    assert "pip_noop.py" in mapped and "--group dev" in mapped and "pip install" not in mapped
    assert mapped.startswith("set -x\npython ") and mapped.endswith("echo done\n")
    with pytest.raises(WorkflowError, match="maps only `python -m pip install"):
        map_pip_installs("pip install requests\n", "t")


# ---------------------------------------------------------------------------- runner semantics

SEMANTICS = f"""
name: Semantics
on:
  push:
    branches: [main]
permissions: {{}}
env:
  LEVEL: workflow
  FROM_WORKFLOW: w
  REF: ${{{{ github.ref }}}}
jobs:
  first:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    env:
      LEVEL: job
    outputs:
      greeting: ${{{{ steps.out.outputs.greeting }}}}
    steps:
      - uses: {CHECKOUT}
        with:
          persist-credentials: false
      - id: out
        run: |
          echo "greeting=hello" >> "$GITHUB_OUTPUT"
          {{
            echo "story<<EOF"
            echo "line one"
            echo "line two"
            echo "EOF"
          }} >> "$GITHUB_OUTPUT"
          echo "FROM_ENV_FILE=set" >> "$GITHUB_ENV"
          echo "LEVEL=env-file" >> "$GITHUB_ENV"
          mkdir -p "$RUNNER_TEMP/bin"
          printf '#!/bin/sh\\necho tool-ran\\n' > "$RUNNER_TEMP/bin/mytool"
          chmod +x "$RUNNER_TEMP/bin/mytool"
          echo "$RUNNER_TEMP/bin" >> "$GITHUB_PATH"
          echo "# Summary of first" >> "$GITHUB_STEP_SUMMARY"
          echo "::notice::a notice"
      - name: Reads back what the step before wrote
        env:
          STORY: ${{{{ steps.out.outputs.story }}}}
        run: |
          test "$LEVEL" = env-file
          test "$FROM_ENV_FILE" = set
          test "$FROM_WORKFLOW" = w
          test "$REF" = refs/heads/main
          test "$STORY" = "$(printf 'line one\\nline two')"
          test "$(mytool)" = tool-ran
          test "$GITHUB_EVENT_NAME" = push
          test "$GITHUB_REF" = refs/heads/main
          test "$GITHUB_REF_NAME" = main
          test "$GITHUB_REPOSITORY" = mlgitops/income-example
          test "$GITHUB_WORKSPACE" = "$PWD"
          test -n "$GITHUB_RUN_ID"
          test "$CI" = true
          test "$(git rev-parse HEAD)" = "$GITHUB_SHA"
          test "$(git rev-parse --is-shallow-repository)" = true
          test "$(grep -c . README.md)" = 1
          after=$(python3 -c 'import json, os
          print(json.load(open(os.environ["GITHUB_EVENT_PATH"]))["after"])')
          test "$after" = "$GITHUB_SHA"
          if git push -q origin HEAD:refs/heads/elsewhere 2>/dev/null; then exit 9; fi
      - name: A step's own env wins
        env:
          LEVEL: step
        run: test "$LEVEL" = step
      - name: Not for pushes
        if: github.event_name == 'pull_request'
        run: exit 1
      - name: Fails but may
        id: flaky
        continue-on-error: true
        run: exit 3
      - name: After a tolerated failure
        if: steps.flaky.outcome == 'failure' && steps.flaky.conclusion == 'success'
        run: echo tolerated
  second:
    needs: first
    runs-on: ubuntu-latest
    permissions: {{}}
    steps:
      - env:
          GREETING: ${{{{ needs.first.outputs.greeting }}}}
        run: test "$GREETING" = hello && test ! -e README.md
      - name: The default shell has no pipefail
        run: false | true
      - name: shell bash has pipefail
        id: pipefail
        shell: bash
        continue-on-error: true
        run: false | true
      - name: Confirms it
        if: steps.pipefail.outcome == 'failure'
        run: echo pipefail-honoured
  not-today:
    needs: first
    if: needs.first.outputs.greeting == 'bye'
    runs-on: ubuntu-latest
    permissions: {{}}
    steps:
      - run: exit 1
"""


def test_runner_semantics(tmp_path: Path) -> None:
    forge = _forge(tmp_path, SEMANTICS)
    result = _push(forge)
    first, second = result.job("first"), result.job("second")
    assert first.step("out").outputs == {"greeting": "hello", "story": "line one\nline two"}
    assert first.outputs == {"greeting": "hello"}
    assert first.summary == "# Summary of first\n"
    assert ("notice", "a notice") in first.annotations
    assert first.step("Not for pushes").outcome == "skipped"
    flaky = first.step("flaky")
    assert (flaky.outcome, flaky.conclusion, flaky.exit_code) == ("failure", "success", 3)
    assert first.step("After a tolerated failure").outcome == "success"
    assert second.step("The default shell has no pipefail").outcome == "success"
    assert second.step("pipefail").outcome == "failure"
    assert second.step("Confirms it").outcome == "success"
    assert result.job("not-today").result == "skipped"
    assert result.conclusion == "success"


FAILING = f"""
name: Failing
on: push
permissions: {{}}
jobs:
  build:
    runs-on: ubuntu-latest
    permissions: {{}}
    steps:
      - name: Breaks
        run: |
          echo "about to break"
          no-such-command --flag
      - name: Never runs
        run: echo never
      - name: Cleans up
        if: always()
        run: echo cleaning
      - name: Reports
        if: failure()
        run: echo reporting
  after:
    needs: build
    runs-on: ubuntu-latest
    permissions: {{}}
    steps:
      - run: echo never
  rescue:
    needs: build
    if: failure()
    runs-on: ubuntu-latest
    permissions: {{}}
    steps:
      - uses: {SETUP_PYTHON}
        with:
          python-version: "3.11"
      - run: python -c "print('rescued')"
"""


def test_a_failed_step_fails_the_run_with_its_name_command_and_output(tmp_path: Path) -> None:
    forge = _forge(tmp_path, FAILING)
    with pytest.raises(RunFailed) as failed:
        _push(forge)
    message = str(failed.value)
    assert "job 'build' failed at step 'Breaks' (exit 127)" in message
    assert "no-such-command --flag" in message  # the command
    assert "about to break" in message and "command not found" in message  # the output
    result = forge.runs[max(forge.runs)]
    build = result.job("build")
    assert build.step("Never runs").outcome == "skipped"
    assert build.step("Cleans up").outcome == "success"
    assert build.step("Reports").outcome == "success"
    assert result.job("after").result == "skipped"
    assert result.job("rescue").result == "success"
    assert "rescued" in result.job("rescue").steps[-1].output


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (
            "- uses: actions/cache@0c45773b623bea8c8e75f6c82b208c3cf94ea4f9 # v4.0.2",
            "no local equivalent",
        ),
        (
            "- {if: \"contains(github.ref, 'main')\", run: echo}",
            "unsupported function contains()",
        ),
        ("- uses: ./.github/actions/mine", "local and Docker actions are not modelled"),
        ("- uses: docker://alpine:3", "local and Docker actions are not modelled"),
        ("- run: pip install requests", "maps only `python -m pip install"),
        (f"- uses: {SETUP_CML}", "setup-cml needs `version:` set to an exact CML release"),
        (
            f"- {{uses: '{SETUP_CML.split(' #')[0]}', with: {{version: latest}}}}",
            "not 'latest'",
        ),
        (
            f"- {{uses: '{SETUP_CML.split(' #')[0]}', with: {{version: '0.20.5', vega: false}}}}",
            "vega'] are not modelled",
        ),
    ],
)
def test_what_the_harness_does_not_model_is_an_error(
    tmp_path: Path, step: str, message: str
) -> None:
    workflow = f"""
    name: Unmodelled
    on: push
    permissions: {{}}
    jobs:
      j:
        runs-on: ubuntu-latest
        permissions: {{}}
        steps:
          {step}
    """
    forge = _forge(tmp_path, workflow)
    with pytest.raises(WorkflowError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _push(forge)


def test_events_must_match_the_workflows_triggers(tmp_path: Path) -> None:
    forge = _forge(tmp_path, SEMANTICS)
    with pytest.raises(NotTriggered, match="does not run on schedule"):
        forge.run("w.yml", forge.schedule("0 6 * * *"))
    from mlgitops.localci.sandbox import run

    run(forge.dev, "git", "checkout", "-q", "-b", "feature")
    with pytest.raises(NotTriggered, match="branch feature is filtered out"):
        forge.run("w.yml", forge.push("feature"))


def test_hosted_runners_have_no_git_identity(tmp_path: Path) -> None:
    workflow = f"""
    name: Identity
    on: push
    permissions: {{}}
    jobs:
      tag:
        runs-on: ubuntu-latest
        permissions:
          contents: write
        steps:
          - uses: {CHECKOUT}
            with:
              persist-credentials: true  # pushes a tag
          - name: Tag without an identity
            id: bare
            continue-on-error: true
            run: git tag -a v0 -m "no identity"
          - name: Tag as the bot and push
            run: |
              git config user.name "github-actions[bot]"
              git config user.email "bot@example.invalid"
              git tag -a v1 -m "v1"
              git push -q origin v1
    """
    forge = _forge(tmp_path, workflow)
    result = _push(forge)
    assert result.job("tag").step("bare").outcome == "failure"
    assert forge.origin_tags() == ["v1"]


# ---------------------------------------------------------------------------- pip check


def test_pip_install_checks_what_is_installed(tmp_path: Path) -> None:
    def workflow(project: str) -> str:
        return f"""
        name: Install
        on: push
        permissions: {{}}
        jobs:
          j:
            runs-on: ubuntu-latest
            permissions:
              contents: read
            steps:
              - uses: {CHECKOUT}
                with:
                  persist-credentials: false
              - uses: {SETUP_PYTHON}
                with:
                  python-version: "3.11"
              - run: python -m pip install -e . "pytest>=8"
        """

    pyproject = '[project]\nname = "{}"\nversion = "0"\ndependencies = ["click>=8"]\n'
    ok = _forge(
        tmp_path / "ok", workflow("mlgitops"), {"pyproject.toml": pyproject.format("mlgitops")}
    )
    result = _push(ok)
    assert "installed: mlgitops" in result.job("j").steps[-1].output
    missing = _forge(
        tmp_path / "missing",
        workflow("x"),
        {"pyproject.toml": pyproject.format("surely-not-installed-here")},
    )
    with pytest.raises(RunFailed, match="surely-not-installed-here is not installed"):
        _push(missing)


# ---------------------------------------------------------------------------- the shim

SHIM = f"""
name: Shim
on: push
permissions: {{}}
jobs:
  reader:
    runs-on: ubuntu-latest
    permissions: {{}}
    steps:
      - name: Create an issue without the grant
        env:
          GH_TOKEN: ${{{{ github.token }}}}
        run: gh issue create --title t --body b -R "$GITHUB_REPOSITORY"
  writer:
    runs-on: ubuntu-latest
    permissions:
      issues: write
      contents: read
    steps:
      - uses: {CHECKOUT}
        with:
          persist-credentials: false
      - name: Open or update, never duplicate
        env:
          GH_TOKEN: ${{{{ github.token }}}}
        run: |
          printf 'first body\\n' > body.md
          if ! gh issue create --title "Drift" --body-file body.md --label drift; then
            echo "no label yet"
          fi
          gh label create drift --color d73a4a --description "data drift"
          for body in first second; do
            printf '%s body\\n' "$body" > body.md
            number=$(gh issue list --label drift --state open --json number --jq '.[0].number')
            if [ -n "$number" ] && [ "$number" != null ]; then
              gh issue edit "$number" --body-file body.md
            else
              gh issue create --title "Drift" --body-file body.md --label drift
            fi
          done
          gh issue list --state all --json number,title,labels --jq '.[] | .title'
      - name: Something the shim does not model
        id: unknown
        continue-on-error: true
        env:
          GH_TOKEN: ${{{{ github.token }}}}
        run: gh repo view
      - name: No token at all
        id: anonymous
        continue-on-error: true
        run: gh issue list --json number
"""


def test_the_shim_records_answers_and_refuses(tmp_path: Path) -> None:
    forge = _forge(tmp_path, SHIM)
    result = _push(forge, check=False)
    reader = result.job("reader")
    assert reader.result == "failure"
    assert "HTTP 403: Resource not accessible by integration" in reader.steps[0].output
    writer = result.job("writer")
    assert writer.result == "success"
    step = writer.step("Open or update, never duplicate")
    assert "could not add label: 'drift' not found" in step.output
    assert "no label yet" in step.output
    [issue] = forge.issues(label="drift")
    assert issue["body"] == "second body\n"
    assert issue["edits"] == 1
    assert step.output.rstrip().endswith("Drift")
    unknown = writer.step("unknown")
    assert unknown.outcome == "failure" and unknown.exit_code == 2
    assert "unsupported gh/cml invocation: gh repo view" in unknown.output
    assert "gh auth login" in writer.step("anonymous").output
    # Job tokens die with their job, as on GitHub.
    assert forge.state["tokens"] == {}
    calls = [c["args"][:2] for c in forge.calls()]
    assert ["issue", "create"] in calls and ["repo", "view"] in calls


def test_cml_comments_need_no_publish_and_a_modelled_target(tmp_path: Path) -> None:
    workflow = f"""
    name: Comment
    on: push
    permissions: {{}}
    jobs:
      c:
        runs-on: ubuntu-latest
        permissions:
          contents: read
          pull-requests: write
        steps:
          - uses: {CHECKOUT}
            with:
              persist-credentials: false
          - name: cml is not there before setup-cml
            id: before
            continue-on-error: true
            run: cml --version
          - uses: {SETUP_CML}
            with:
              version: "0.20.5"
          - name: Publishing images is not modelled
            id: publish
            continue-on-error: true
            env:
              REPO_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}
            run: cml comment create --target=pr/1 README.md
          - name: An unknown PR
            id: nopr
            continue-on-error: true
            env:
              REPO_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}
            run: cml comment update --target=pr/99 --watermark-title=w --no-publish README.md
    """
    forge = _forge(tmp_path, workflow)
    job = _push(forge).job("c")
    assert job.step("before").exit_code == 127
    assert "unsupported gh/cml invocation" in job.step("publish").output
    assert "pull request #99 not found" in job.step("nopr").output
    assert forge.comments() == []


def test_checkout_fetch_depth_zero_brings_history_and_tags(tmp_path: Path) -> None:
    workflow = f"""
    name: History
    on: push
    permissions: {{}}
    jobs:
      h:
        runs-on: ubuntu-latest
        permissions:
          contents: read
        steps:
          - uses: {CHECKOUT}
            with:
              fetch-depth: 0
              persist-credentials: false
          - run: |
              test "$(git rev-parse --is-shallow-repository)" = false
              test "$(git rev-list --count HEAD)" = 2
              test "$(git tag)" = v0.1
              test "$(git branch --show-current)" = main
    """
    forge = _forge(tmp_path, workflow)
    from mlgitops.localci.sandbox import run

    run(forge.dev, "git", "tag", "v0.1")
    run(forge.dev, "git", "push", "-q", "origin", "v0.1")
    _push(forge)
    assert json.loads(forge.state_file.read_text())["repository"] == forge.repository
