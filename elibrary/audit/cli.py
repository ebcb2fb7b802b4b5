"""``elibrary audit search`` and ``elibrary audit verify``."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import click
from flask.cli import AppGroup

from elibrary.audit import services
from elibrary.cli_support import one_line_errors, runtime

TOKYO = ZoneInfo("Asia/Tokyo")


def local_day_start(value: str) -> datetime:
    """Midnight (Asia/Tokyo) of a YYYY-MM-DD date, as UTC."""
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-04-01") from None
    return datetime.combine(day, time(0), TOKYO).astimezone(timezone.utc)


@click.group("audit", cls=AppGroup)
def audit_group() -> None:
    """The staff access log of personal data."""


@audit_group.command("search")
@click.option("--patron", "card", default=None, help="Card number of the patron.")
@click.option("--staff", "staff_email", default=None, help="E-mail of the staff member.")
@click.option("--since", default=None, help="From this date (YYYY-MM-DD, Japan time).")
@click.option("--until", default=None, help="Up to and including this date (YYYY-MM-DD).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV instead of lines.")
@one_line_errors
def search_command(card: str | None, staff_email: str | None, since: str | None, until: str | None, as_csv: bool) -> None:
    """Show access-log entries by patron, staff member and period."""
    from elibrary.patrons.services import find_by_card

    rt = runtime()
    with rt.db.scope(write=False) as session:
        patron_id = None
        if card:
            patron = find_by_card(session, rt.cipher, card)
            if patron is None:
                raise click.ClickException("no patron with that card number")
            patron_id = patron.id
        entries = services.search(
            session,
            patron_id=patron_id,
            staff_email=staff_email,
            since=local_day_start(since) if since else None,
            until=local_day_start(until) + timedelta(days=1) if until else None,
            limit=None,
        )
        if as_csv:
            click.echo(services.to_csv(entries), nl=False)
            return
        for entry in entries:
            when = entry.at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M:%S")
            patron_text = f"patron:{entry.patron_id}" if entry.patron_id is not None else "-"
            click.echo(f"{when}\t{entry.staff_email}\t{entry.address or '-'}\t{entry.action}\t{entry.subject or '-'}\t{patron_text}\t{entry.fields or '-'}")
        click.echo(f"{len(entries)} entries", err=True)


@audit_group.command("verify")
@one_line_errors
def verify_command() -> None:
    """Check the hash chain; exits 1 naming the first entry that was tampered with."""
    rt = runtime()
    with rt.db.scope(write=False) as session:
        result = services.verify(session)
    if not result.ok:
        raise click.ClickException(f"access log tampered at entry {result.first_bad_id}: {result.reason}")
    click.echo(f"access log intact: {result.checked} entries")


def register(cli: click.Group) -> None:
    """Add the commands."""
    cli.add_command(audit_group)
