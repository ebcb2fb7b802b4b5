"""``elibrary patrons add``."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from elibrary.cli_support import one_line_errors, runtime
from elibrary.patrons import services


@click.group("patrons", cls=AppGroup)
def patrons_group() -> None:
    """Patron accounts."""


@patrons_group.command("add")
@click.argument("card")
@click.option("--pin", required=True, help="The patron's PIN / password (4+ characters).")
@click.option("--category", default="citizen", show_default=True, help="citizen, provisional, student, teacher, or one the library added.")
@click.option("--name", default=None, help="Name (stored encrypted).")
@one_line_errors
def add_command(card: str, pin: str, category: str, name: str | None) -> None:
    """Create a local patron (for libraries without an ILS link)."""
    rt = runtime()
    with rt.db.scope() as session:
        patron = services.add_local_patron(session, rt.cipher, card, pin, category=category, name=name)
        click.echo(f"patron {patron.id} added ({category})")


@patrons_group.command("set-pin")
@click.argument("card")
@click.option("--pin", required=True, help="The new PIN / password (4+ characters).")
@one_line_errors
def set_pin_command(card: str, pin: str) -> None:
    """Change a local patron's PIN; the card's sessions on every device end."""
    from elibrary.errors import NotFound

    rt = runtime()
    with rt.db.scope() as session:
        patron = services.find_by_card(session, rt.cipher, card)
        if patron is None:
            raise NotFound("その利用者番号はありません。", "No patron has that card number.")
        services.change_local_pin(session, patron, pin)
        click.echo(f"patron {patron.id}: PIN changed; their sessions ended")


@patrons_group.command("expire-registrations")
@one_line_errors
def expire_registrations_command() -> None:
    """Erase provisional registrations past their time (run daily, e.g. from cron with ``elibrary jobs run``)."""
    from elibrary.patrons import registration

    rt = runtime()
    with rt.db.scope() as session:
        count = registration.purge_expired(session)
    click.echo(f"{count} expired registrations erased")


def register(cli: click.Group) -> None:
    """Add the commands."""
    cli.add_command(patrons_group)
