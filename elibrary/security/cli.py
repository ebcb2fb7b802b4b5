"""``elibrary keys rotate``: a new key for personal data at rest."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from elibrary.cli_support import one_line_errors, runtime


@click.group("keys", cls=AppGroup)
def keys_group() -> None:
    """Encryption keys of personal data."""


@keys_group.command("rotate")
@one_line_errors
def rotate_command() -> None:
    """Generate a new data key, re-encrypt personal data under it; restart every worker afterwards."""
    from elibrary.security.keys import RotationRefused, rotate

    rt = runtime()
    try:
        report = rotate(rt.db, rt.settings, current_app.instance_path)
    except RotationRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"data key rotated to version {report.version}; {report.values} values re-encrypted")
    click.echo("restart every elibrary process (and copy the instance keys to other servers) now")


def register(cli: click.Group) -> None:
    """Add the commands."""
    cli.add_command(keys_group)
