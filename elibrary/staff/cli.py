"""``elibrary staff add``, ``reset`` and ``disable``."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from elibrary.cli_support import one_line_errors, runtime
from elibrary.staff import services


@click.group("staff", cls=AppGroup)
def staff_group() -> None:
    """Staff accounts."""


@staff_group.command("add")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(["admin", "librarian", "teacher"]))
@click.option("--school", "school_code", default=None, help="School code (teachers).")
@one_line_errors
def add_command(email: str, role: str, school_code: str | None) -> None:
    """Create a staff account and print its one-time password."""
    rt = runtime()
    with rt.db.scope() as session:
        user, password = services.add_staff(session, email, role, school_code)
        click.echo(f"staff {user.email} added as {role}")
        click.echo(f"one-time password: {password}")


@staff_group.command("reset")
@click.argument("email")
@one_line_errors
def reset_command(email: str) -> None:
    """Lost password or authenticator: a new one-time password, and TOTP enrolment again at next sign-in."""
    rt = runtime()
    with rt.db.scope() as session:
        password = services.reset_credentials(session, email)
        click.echo(f"staff {email.strip().lower()} reset")
        click.echo(f"one-time password: {password}")


@staff_group.command("disable")
@click.argument("email")
@one_line_errors
def disable_command(email: str) -> None:
    """End a staff account and its sessions (it can no longer sign in)."""
    rt = runtime()
    with rt.db.scope() as session:
        user = services.disable_staff(session, email)
        click.echo(f"staff {user.email} disabled; their sessions ended")


def register(cli: click.Group) -> None:
    """Add the commands."""
    cli.add_command(staff_group)
