"""The ``elibrary`` command line (also available as ``flask --app elibrary ...``).

Each domain keeps its commands beside its services (``patrons/cli.py`` ...); this module registers
them, runs each in one transaction, and turns errors into one-line messages with a non-zero exit.
"""
from __future__ import annotations

import functools
import logging
import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup
from sqlalchemy.exc import InterfaceError, OperationalError

from elibrary.config import ConfigError
from elibrary.errors import DomainError
from elibrary.runtime import Runtime


def runtime() -> Runtime:
    """The runtime of the application the command runs in."""
    return current_app.extensions["elibrary"]


log = logging.getLogger("elibrary.cli")
DATABASE_ERRORS = (OperationalError, InterfaceError)


def database_down(exc: Exception) -> click.ClickException:
    """One line for an unreachable database; the driver's detail goes to the log only."""
    log.info("database unavailable", exc_info=exc)  # below WARNING: never printed as a traceback unless logging is set up
    return click.ClickException(f"the database is not reachable (データベースに接続できません): {type(getattr(exc, 'orig', exc)).__name__}")


def one_line_errors(command):
    """Turn domain, configuration and database errors into ``Error: <reason>`` and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except DomainError as exc:
            raise click.ClickException(f"{exc.message_en} ({exc.message_ja})") from None
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
        except DATABASE_ERRORS as exc:
            raise database_down(exc) from None

    return wrapper


def progress_bar(length: int | None, label: str):
    """A click progress bar on stderr (quiet when not a terminal but still printing the label)."""
    return click.progressbar(length=length or 0, label=label, file=sys.stderr, show_pos=True)


def register_commands(app: Flask) -> None:
    """Add every domain's commands to ``app.cli``."""
    from catalog_import import cli as import_cli
    from elibrary import setup_commands
    from elibrary.audit import cli as audit_cli
    from elibrary.backup import cli as backup_cli
    from elibrary.security import cli as keys_cli
    from elibrary.catalog import cli as catalog_cli
    from elibrary.lending import cli as lending_cli
    from elibrary.line import cli as line_cli
    from elibrary.patrons import cli as patron_cli
    from elibrary.selection import cli as selection_cli
    from elibrary.staff import cli as staff_cli

    for module in (setup_commands, catalog_cli, patron_cli, staff_cli, audit_cli, keys_cli, lending_cli, import_cli, backup_cli, selection_cli, line_cli):
        module.register(app.cli)


def _create_app(*_args, **_kwargs):
    from elibrary import create_app

    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


class ElibraryGroup(FlaskGroup):
    """The ``elibrary`` group: a dead database is one line for every command, decorated or not."""

    def invoke(self, ctx: click.Context):
        """Run the command; database errors become ``Error: ...`` and exit status 1."""
        try:
            return super().invoke(ctx)
        except DATABASE_ERRORS as exc:
            raise database_down(exc) from None


@click.group(cls=ElibraryGroup, create_app=_create_app, add_version_option=True, add_default_commands=False)
def main() -> None:
    """elibrary: e-library for Japanese public and school libraries."""
