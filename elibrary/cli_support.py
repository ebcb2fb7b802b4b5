"""What every wing's ``cli.py`` uses: the runtime of the command, one-line errors, a progress bar.

A leaf module: it imports no wing, so wings never import the hub (``elibrary/cli.py``) that registers them.
"""
from __future__ import annotations

import functools
import sys
from typing import TYPE_CHECKING

import click
from flask import current_app

from elibrary.config import ConfigError
from elibrary.errors import DomainError

if TYPE_CHECKING:
    from elibrary.runtime import Runtime


def runtime() -> Runtime:
    """The runtime of the application the command runs in (built by ``elibrary.wiring.build_runtime``)."""
    return current_app.extensions["elibrary"]


def one_line_errors(command):
    """Turn domain and configuration errors into ``Error: <reason>`` and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except DomainError as exc:
            raise click.ClickException(f"{exc.message_en} ({exc.message_ja})") from None
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def progress_bar(length: int | None, label: str):
    """A click progress bar on stderr (quiet when not a terminal but still printing the label)."""
    return click.progressbar(length=length or 0, label=label, file=sys.stderr, show_pos=True)
