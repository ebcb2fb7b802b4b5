"""``elibrary backup create [DIR]`` and ``elibrary backup restore FILE``."""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from elibrary.backup.archive import BackupError, create_backup
from elibrary.backup.drill import verify_backup_file
from elibrary.backup.restore import restore_backup
from elibrary.backup.schedule import record_drill
from elibrary.catalog.cli import reindex_command
from elibrary.cli_support import DATABASE_ERRORS, one_line_errors, runtime
from elibrary.db import utcnow


def _version() -> str:
    try:
        return version("elibrary")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def _say(message: str) -> None:
    click.echo(message, err=True)


@click.group("backup", cls=AppGroup)
def backup_group() -> None:
    """Backups of the database, book files and keys."""


@backup_group.command("create")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--without-keys", is_flag=True, help="Leave the key files out (keep them safe separately).")
@one_line_errors
def create_command(directory: Path | None, without_keys: bool) -> None:
    """Write a consistent backup into DIRECTORY (default: <instance>/backups) while the site runs."""
    rt = runtime()
    instance = Path(current_app.instance_path)
    summary = create_backup(
        rt.db.engine,
        rt.storage,
        instance,
        directory or instance / "backups",
        include_keys=not without_keys,
        version=_version(),
        progress=_say,
    )
    if without_keys:
        _say("keys left out: restoring needs this instance's key files (secret_key, data_key*, lookup_key, audit_key)")
    elif "data_key" not in summary.keys:
        _say("warning: the data key is not in the instance folder (set by ELIBRARY_DATA_KEY?): keep it with the backup")
    _say("the backup holds personal data and the keys to read it: store it like the keys")
    click.echo(str(summary.path))


@backup_group.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Overwrite a database that already holds data.")
@one_line_errors
def restore_command(file: Path, replace: bool) -> None:
    """Restore FILE into this instance's database, book storage and keys, then rebuild the search index."""
    rt = runtime()
    summary = restore_backup(
        file,
        rt.db.engine,
        rt.db.write_engine,
        rt.storage,
        Path(current_app.instance_path),
        replace=replace,
        progress=_say,
    )
    rows = sum(summary.tables.values())
    _say(f"restored {rows} rows, {summary.files} files, {len(summary.keys)} key files")
    _say(_restore_audit_anchor(rt, summary))
    click.get_current_context().invoke(reindex_command)  # the index is derived: rebuilt from the restored rows
    if summary.keys:
        _say("restart the application servers so that they read the restored keys")
    click.echo(f"restored {file}")


@backup_group.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--no-record", is_flag=True, help="Do not note the drill on the admin page (e.g. with the database down).")
@one_line_errors
def verify_command(file: Path, no_record: bool) -> None:
    """A restore drill: restore FILE into a scratch SQLite database, check counts, checksums and a patron, delete it."""
    rt = runtime()
    started = utcnow()
    try:
        report = verify_backup_file(file, rt.settings, progress=_say)
    except BackupError as exc:
        if not no_record:
            _record_quietly(rt, file, started, False, exc.message_en)
        raise
    if not no_record:
        _record_quietly(rt, file, started, True, report.line())
    click.echo(report.line())


def _record_quietly(rt, file: Path, started, ok: bool, message: str) -> None:
    try:
        record_drill(rt, file, started, ok, message)
    except DATABASE_ERRORS:
        _say("warning: the database is not reachable; the drill was not noted on the admin page")


def _restore_audit_anchor(rt, summary) -> str:
    """The restored access log's anchor (from the manifest) under the restored audit key; the line to print."""
    import datetime as dt
    import os

    from elibrary.audit.adopt import adopt
    from elibrary.audit.chain import Anchor, AuditChain

    chain = rt.audit
    key_file = Path(current_app.instance_path) / "audit_key"
    if "audit_key" in summary.keys and not os.environ.get("ELIBRARY_AUDIT_KEY"):
        chain = AuditChain(key_file.read_text().strip().encode("utf-8"), rt.audit.anchor_path)
    anchor = Anchor.from_dict(summary.audit_anchor)
    if anchor is not None:
        chain.write_anchor(anchor, force=True)
    else:  # a backup from before the anchor: adopt (below) checks the restored chain and anchors it
        chain.set_aside_anchor("before-restore-" + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ"))
    with rt.db.scope() as session:
        adoption = adopt(session, chain)
    if adoption.anchor is not None:
        chain.write_anchor(adoption.anchor)
    return adoption.message


def register(cli: click.Group) -> None:
    """Add the commands."""
    cli.add_command(backup_group)
