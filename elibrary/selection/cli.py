"""``elibrary selection license-cost`` and ``elibrary selection files-arrived`` (the pool itself is
imported with ``elibrary import {onix,csv} --pool``)."""
from __future__ import annotations

from dataclasses import dataclass

import click
from flask.cli import AppGroup

from elibrary.cli_support import one_line_errors, runtime
from elibrary.errors import InvalidInput, NotFound
from elibrary.lending.models import License
from elibrary.selection import receiving
from elibrary.selection.models import LicenseCost
from elibrary.staff.models import Role


@dataclass(frozen=True)
class Operator:
    """Whoever runs the command on the server: the services' role checks pass as for an admin."""

    id: None = None
    is_staff: bool = True
    role: Role = Role.admin


@click.group("selection", cls=AppGroup)
def selection_group() -> None:
    """Selection and acquisitions (選書・発注)."""


@selection_group.command("license-cost")
@click.argument("license_id", type=int)
@click.argument("price", type=int)
@click.option("--tax", type=int, default=None, help="Consumption tax in yen (default: 10% of the price, rounded down).")
@one_line_errors
def license_cost(license_id: int, price: int, tax: int | None) -> None:
    """Record what a licence bought before this feature cost (PRICE in yen, excluding tax)."""
    if price < 0 or (tax is not None and tax < 0):
        raise InvalidInput("金額は0以上にしてください。", "Amounts cannot be negative.")
    with runtime().db.scope() as session:
        if session.get(License, license_id) is None:
            raise NotFound(f"ライセンス {license_id} がありません。", f"No licence {license_id}.")
        cost = session.get(LicenseCost, license_id) or LicenseCost(license_id=license_id)
        cost.price, cost.tax = price, price * 10 // 100 if tax is None else tax
        session.add(cost)
    click.echo(f"licence {license_id}: ¥{price:,} + tax ¥{cost.tax:,}")


@selection_group.command("files-arrived")
@one_line_errors
def files_arrived() -> None:
    """Make the licences of received titles whose book files have now arrived (ファイル未着 → borrowable)."""
    rt = runtime()
    with rt.db.scope() as session:
        count = receiving.license_arrived(session, Operator(), cipher=rt.cipher)
    click.echo(f"licences made for {count} received lines")


def register(cli: click.Group) -> None:
    """Add the commands."""
    cli.add_command(selection_group)
