"""The ``elibrary`` command line (also available as ``flask --app elibrary ...``).

Each domain keeps its commands beside its services (``patrons/cli.py`` ...) and takes its helpers from
the leaf module ``elibrary.cli_support``; the list of command modules is in the wiring room
(``elibrary.wiring.register_commands``). Each command runs in one transaction and turns errors into
one-line messages with a non-zero exit.
"""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from elibrary.cli_support import DATABASE_ERRORS, database_down
from elibrary.config import ConfigError


def register_commands(app: Flask) -> None:
    """Add every domain's commands to ``app.cli``."""
    from elibrary.wiring import register_commands as register_all

    register_all(app.cli)


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
