"""``mlgitops report``: render a report again from its JSON document (pr, drift)."""

from __future__ import annotations

import click

from mlgitops.commands.drift import drift_report_command
from mlgitops.commands.pr import report_pr_command


@click.group("report")
def report_group() -> None:
    """Render reports from their JSON documents (a report is a function of its data).

    Example: mlgitops report pr --compare reports/compare.json --out reports/pr.md
    """


report_group.add_command(report_pr_command, "pr")
report_group.add_command(drift_report_command, "drift")

COMMANDS = (report_group,)
