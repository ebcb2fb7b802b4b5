"""``elibrary jobs run [NAME...]`` and ``elibrary jobs list``: the job registry from the command line.

``jobs run`` is one pass of scheduled work (see ``elibrary.jobs``): every interval job runs at each call
(cron or a systemd timer is its pace), each daily job when its time today (JST) has come and it has not
run since; named jobs run now whatever their schedule. Each job runs under its lease, so a command and
the web workers' schedulers never run one job at the same time.
"""
from __future__ import annotations

import click
from flask.cli import AppGroup

from elibrary import jobs
from elibrary.cli_support import one_line_errors, runtime
from elibrary.db import utcnow
from elibrary.errors import NotFound


@click.group("jobs", cls=AppGroup)
def jobs_group() -> None:
    """Scheduled work."""


@jobs_group.command("run")
@click.argument("names", nargs=-1)
@one_line_errors
def run_command(names: tuple[str, ...]) -> None:
    """One pass: expire loans and holds, move waitlists, send due notifications, erase expired personal data."""
    rt = runtime()
    now = utcnow()
    if names:
        outcomes = [jobs.run_job(rt, _job(rt, name), now) for name in names]
    else:
        outcomes = jobs.run_due(rt, rt.jobs, now, on_demand=True)
    for outcome in outcomes:
        click.echo(outcome.line())


@jobs_group.command("list")
@one_line_errors
def list_command() -> None:
    """The declared jobs: schedule, where they may run, last run (UTC)."""
    rt = runtime()
    now = utcnow()
    for job in rt.jobs:
        last = jobs.last_run(rt.db, job.name)
        where = "web+command" if job.in_web_worker else "command only"
        next_due = job.schedule.next_due(last, now)
        click.echo(
            f"{job.name}\t{job.schedule.describe()}\t{where}\tlast {last.isoformat(timespec='seconds') if last else '-'}"
            f"\tnext {next_due.astimezone(jobs.TOKYO).strftime('%Y-%m-%d %H:%M')} JST\t{job.description}"
        )


def _job(rt, name: str) -> jobs.Job:
    try:
        return rt.jobs.get(name)
    except KeyError:
        known = ", ".join(job.name for job in rt.jobs)
        raise NotFound(f"そのジョブはありません: {name}（{known}）", f"No job called {name} (jobs: {known})") from None


def register(cli: click.Group) -> None:
    """Add the commands."""
    cli.add_command(jobs_group)
