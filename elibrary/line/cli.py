"""``elibrary line poll``: ask the ILS about linked patrons' paper holds and overdues (run from cron at night)."""
from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from elibrary.cli_support import one_line_errors, runtime
from elibrary.errors import InvalidInput
from elibrary.line import paper
from elibrary.line.notifier import TOKYO, parse_quiet_hours, quiet_until


@click.group("line", cls=AppGroup)
def line_group() -> None:
    """LINE: paper-book notices from the ILS."""


@line_group.command("poll")
@click.option("--anytime", is_flag=True, help="Run outside ELIBRARY_LINE_POLL_WINDOW (the ILS's staff hours).")
@one_line_errors
def poll_command(anytime: bool) -> None:
    """One pass over linked patrons within ELIBRARY_LINE_POLL_BUDGET_MINUTES; notices go out after quiet hours."""
    rt = runtime()
    window = parse_quiet_hours(rt.settings.get("ELIBRARY_LINE_POLL_WINDOW"))  # the same "HH:MM-HH:MM" shape
    now = datetime.now(TOKYO)
    if window is not None and not anytime and quiet_until(now, window) is None:
        raise InvalidInput(
            f"ポーリングの時間帯（{rt.settings['ELIBRARY_LINE_POLL_WINDOW']}）ではありません。--anytime で実行できます。",
            f"outside the polling window {rt.settings['ELIBRARY_LINE_POLL_WINDOW']} (use --anytime)",
        )
    click.echo(paper.scheduled_poll(rt, now))


def register(cli: click.Group) -> None:
    """Add the commands."""
    cli.add_command(line_group)
