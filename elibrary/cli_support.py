"""What every wing's ``cli.py`` uses: the runtime of the command, one-line errors, a progress bar.

A leaf module: it imports no wing, so wings never import the hub (``elibrary/cli.py``) that registers them.
"""
from __future__ import annotations

import functools
import logging
import sys
from typing import TYPE_CHECKING

import click
from flask import current_app
from sqlalchemy.exc import InterfaceError, OperationalError

from elibrary.config import ConfigError
from elibrary.errors import DomainError

if TYPE_CHECKING:
    from elibrary.runtime import Runtime


def runtime() -> Runtime:
    """The runtime of the application the command runs in (built by ``elibrary.wiring.build_runtime``)."""
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
