"""``elibrary maintenance on|off|status``: the planned-stop flag, seen by every app server within seconds."""
from __future__ import annotations

import logging

import click
from flask.cli import AppGroup

from elibrary.cli_support import DATABASE_ERRORS, one_line_errors, runtime
from elibrary.db import utcnow
from elibrary.maintenance import services
from elibrary.maintenance.flag import read_state
from elibrary.maintenance.times import describe_en, parse_when
from elibrary.security.events import record_security_event_now

log = logging.getLogger(__name__)


@click.group("maintenance", cls=AppGroup)
def maintenance_group() -> None:
    """Planned stops: the maintenance page, or read-only service."""


@maintenance_group.command("on")
@click.option("--message", default="", help="A line shown to patrons on the maintenance page.")
@click.option("--at", "at", default=None, help="Start later: '2026-12-06 03:00' or '03:00' (Japan time); announced on the home page ahead.")
@click.option("--until", default=None, help="The planned end shown to patrons (and Retry-After), same forms as --at.")
@click.option("--read-only", is_flag=True, help="Keep the catalog, search and borrowed books; pause borrowing, holds and registration.")
@one_line_errors
def on_command(message: str, at: str | None, until: str | None, read_only: bool) -> None:
    """Turn maintenance mode on (works while the database is down: only the announcement needs it)."""
    rt = runtime()
    now = utcnow()
    state = services.turn_on(rt.maintenance.path, now, message=message, starts_at=parse_when(at, now) if at else None,
                             until=parse_when(until, now) if until else None, read_only=read_only, by="cli")
    log.warning("maintenance mode set from the command line: read_only=%s starts=%s until=%s", state.read_only, state.starts_at, state.until)
    record_security_event_now(rt.db, "maintenance.on", actor_kind="system", detail={"via": "cli", "read_only": state.read_only})
    try:
        with rt.db.scope() as session:
            row = services.announce(session, state, now, int(rt.settings.get("ELIBRARY_MAINTENANCE_NOTICE_DAYS") or 10))
    except DATABASE_ERRORS:
        click.echo("warning: the database is not reachable; the stop is on, but no home-page announcement was written", err=True)
    else:
        if row is not None:
            click.echo(f"announced on the home page from {describe_en(row.starts_at)}", err=True)
    mode = "read-only" if state.read_only else "full"
    when = f"from {describe_en(state.starts_at)}" if state.starts_at else "now"
    click.echo(f"maintenance on ({mode}) {when}" + (f" until {describe_en(state.until)}" if state.until else ""))


@maintenance_group.command("off")
@one_line_errors
def off_command() -> None:
    """Turn maintenance mode off on every app server."""
    rt = runtime()
    was_on = services.turn_off(rt.maintenance.path)
    log.warning("maintenance mode off from the command line")
    record_security_event_now(rt.db, "maintenance.off", actor_kind="system", detail={"via": "cli"})
    try:
        with rt.db.scope() as session:
            services.end_announcements(session, utcnow())
    except DATABASE_ERRORS:
        click.echo("warning: the database is not reachable; end the stop's announcement later (staff page お知らせ)", err=True)
    click.echo("maintenance off" if was_on else "maintenance was not on")


@maintenance_group.command("status")
@one_line_errors
def status_command() -> None:
    """Print whether maintenance mode is on, planned or off."""
    state = read_state(runtime().maintenance.path)
    if state is None:
        click.echo("off")
        return
    mode = "read-only" if state.read_only else "full"
    planned = state.starts_at is not None and not state.active(utcnow())
    click.echo(("planned " if planned else "on ") + mode + (f" from {describe_en(state.starts_at)}" if state.starts_at else "")
               + (f" until {describe_en(state.until)}" if state.until else "") + (f": {state.message}" if state.message else ""))


def register(cli: click.Group) -> None:
    """Add the commands."""
    cli.add_command(maintenance_group)
