"""What every command shares: the params option, path defaults and clean failure."""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from mlgitops.errors import EXIT_BAD_INPUT, MlgitopsError

F = TypeVar("F", bound=Callable[..., Any])

OptionalPath = click.Path(path_type=Path)

PARAMS_OPTION = click.option(
    "--params",
    "params_path",
    default="params.yaml",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The params file.",
)


def fails_cleanly(func: F) -> F:
    """Turn :class:`MlgitopsError` into one line on stderr and exit code 2.

    Any other exception is a bug, not a verdict: it exits 2 as well (never 1, which means "a
    check said no"), after the traceback, so a crash can never read as a failed model check.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context(silent=True)
        name = ctx.command_path if ctx else "mlgitops"
        try:
            return func(*args, **kwargs)
        except MlgitopsError as exc:
            click.echo(f"{name}: error: {exc}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except click.ClickException:
            raise
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            click.echo(
                f"{name}: internal error: {type(exc).__name__}: {exc} (this is a bug in mlgitops, "
                "not a verdict; the traceback is above)",
                err=True,
            )
            sys.exit(EXIT_BAD_INPUT)

    return wrapper  # type: ignore[return-value]


def append_outputs(path: Path | None, values: dict[str, str]) -> None:
    """Append ``key=value`` lines to a GitHub-style outputs file (``$GITHUB_OUTPUT``), if given.

    Values are single lines (tags, versions, verdicts, paths): a newline in one would start a new
    key, so it is refused.
    """
    if path is None:
        return
    for key, value in values.items():
        if "\n" in str(value):
            raise ValueError(f"output {key} has a line break; outputs are one line each")
    with path.open("a", encoding="utf-8") as handle:
        for key, value in values.items():
            handle.write(f"{key}={value}\n")


def path_or_default(value: Path | None, default: str) -> Path:
    """An explicit path, else the one params.yaml names."""
    return value if value is not None else Path(default)
