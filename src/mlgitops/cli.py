"""The ``mlgitops`` command line: one command per verb, each a few lines over the library.

Commands live in :mod:`mlgitops.commands`; the group imports a command's module only when that
command runs (or when ``--help`` lists them all), so a quick command starts quickly.
Exit codes: 0 ok, 1 a check said no (gate failed, drift found), 2 bad input or config.
"""

from __future__ import annotations

import importlib

import click

from mlgitops import __version__
from mlgitops.commands import REGISTRY


class LazyGroup(click.Group):
    """A group whose commands are imported from their module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(REGISTRY)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = REGISTRY.get(cmd_name)
        if module_name is None:
            return None
        module = importlib.import_module(f"mlgitops.commands.{module_name}")
        return next(c for c in module.COMMANDS if c.name == cmd_name)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="mlgitops")
def main() -> None:
    """GitOps for machine learning: DVC pipelines, gated pull requests, versioned releases.

    Exit codes: 0 ok, 1 a check said no (gate failed, drift found), 2 bad input or config.
    Paths default to the ones named in the paths section of params.yaml.
    """
