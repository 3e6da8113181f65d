"""The ``mlgitops`` command line: one command per verb, each a few lines over the library.

Every module in :mod:`mlgitops.commands` lists its commands in ``COMMANDS``; they are added here.
Exit codes: 0 ok, 1 a check said no (gate failed, drift found), 2 bad input or config.
"""

from __future__ import annotations

import importlib
import pkgutil

import click

from mlgitops import __version__, commands


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="mlgitops")
def main() -> None:
    """GitOps for machine learning: DVC pipelines, gated pull requests, versioned releases.

    Exit codes: 0 ok, 1 a check said no (gate failed, drift found), 2 bad input or config.
    Paths default to the ones named in the paths section of params.yaml.
    """


for _info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
    if not _info.name.startswith("_"):
        for _command in importlib.import_module(f"mlgitops.commands.{_info.name}").COMMANDS:
            main.add_command(_command)
