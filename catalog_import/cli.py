"""``elibrary import {onix,marc,epub,csv} PATH... [--dry-run] [--validate] [--report FILE]``."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from catalog_import.epub import epub_paths
from catalog_import.runner import run_import
from elibrary.cli_support import one_line_errors, runtime
from elibrary.security import events

SHOWN_PROBLEMS = 20


@click.group("import", cls=AppGroup)
def import_group() -> None:
    """Import titles from ONIX, MARC, EPUB or CSV/TSV files (idempotent)."""


def _options(command):
    command = click.option("--report", "report_path", type=click.Path(dir_okay=False, writable=True),
                           help="Write every rejected record to this CSV file (default: print them).")(command)
    command = click.option("--dry-run", is_flag=True, help="Show what would be added, updated and rejected; write nothing.")(command)
    command = click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))(command)
    return command


def _run(kind: str, paths: tuple[str, ...], dry_run: bool, report_path: str | None, **options) -> None:
    rt = runtime()
    total = len(epub_paths(list(paths))) if kind == "epub" else None
    report = open(report_path, "w", encoding="utf-8-sig", newline="") if report_path else None
    try:
        with click.progressbar(length=total or 0, label=f"importing {kind}", file=sys.stderr, show_pos=True,
                               show_percent=bool(total)) as bar:
            summary = run_import(rt, kind, list(paths), dry_run=dry_run, report=report, progress=bar.update, **options)
    finally:
        if report is not None:
            report.close()
    events.record_security_event_now(rt.db, "import.run", actor_kind="system", detail={
        "format": kind, "files": len(paths), "added": summary.added, "updated": summary.updated, "rejected": summary.rejected,
        "dry_run": dry_run, "via": "cli"})
    click.echo(summary.line())
    click.echo(f"time: {summary.import_seconds:.1f} s import, {summary.index_seconds:.1f} s search index")
    if summary.problems and not report_path:
        for problem in summary.problems[:SHOWN_PROBLEMS]:
            click.echo(f"  rejected {problem.position}{' ' + problem.record_id if problem.record_id else ''}: {problem.reason_en}")
        if summary.rejected > SHOWN_PROBLEMS:
            click.echo(f"  ... and {summary.rejected - SHOWN_PROBLEMS} more (use --report FILE for all of them)")
    elif report_path:
        click.echo(f"report of rejected records: {report_path}")
    if summary.fatal and not (summary.added or summary.updated or summary.unchanged):
        reason = summary.problems[0].reason_en if summary.problems else "the file could not be read"
        raise click.ClickException(reason)


def _pool_option(command):
    return click.option("--pool", is_flag=True,
                        help="Import a distributor's offers into the selection pool (選書候補), not the catalog.")(command)


def _run_pool(kind: str, paths: tuple[str, ...], dry_run: bool) -> None:
    from catalog_import.pool import run_pool_import

    summary = run_pool_import(runtime(), kind, list(paths), dry_run=dry_run)
    click.echo(summary.line() + (" (dry run: nothing written)" if dry_run else ""))
    for problem in summary.problems[:SHOWN_PROBLEMS]:
        click.echo(f"  {problem.position}{' ' + problem.title[:40] if problem.title else ''}: {problem.reason_en}")
    if summary.fatal and not (summary.titles_added or summary.titles_updated):
        raise click.ClickException(summary.problems[0].reason_en if summary.problems else "the file could not be read")


@import_group.command("onix")
@_options
@_pool_option
@click.option("--validate", is_flag=True, help="Check the file against the EDItEUR ONIX XSD first; an invalid file is not imported.")
@one_line_errors
def onix_command(paths, dry_run, report_path, pool, validate) -> None:
    """ONIX for Books 3.0/3.1 messages (reference or short tags)."""
    if pool:
        return _run_pool("onix", paths, dry_run)
    _run("onix", paths, dry_run, report_path, validate=validate)


@import_group.command("marc")
@_options
@one_line_errors
def marc_command(paths, dry_run, report_path) -> None:
    """MARC21 records: ISO 2709 (UTF-8 or MARC-8) or MARCXML."""
    _run("marc", paths, dry_run, report_path)


@import_group.command("epub")
@_options
@click.option("--epubcheck", is_flag=True, help="Run EPUBCheck on each file and keep its findings with the book file.")
@one_line_errors
def epub_command(paths, dry_run, report_path, epubcheck) -> None:
    """EPUB files, or folders of them: metadata, cover and the book file itself."""
    _run("epub", paths, dry_run, report_path, epubcheck=epubcheck)


@import_group.command("csv")
@_options
@_pool_option
@one_line_errors
def csv_command(paths, dry_run, report_path, pool) -> None:
    """CSV/TSV spreadsheets (UTF-8 or Shift_JIS/cp932; Japanese or English headers, see the README)."""
    if pool:
        return _run_pool("csv", paths, dry_run)
    _run("csv", paths, dry_run, report_path)


def register(cli: click.Group) -> None:
    """Add the commands."""
    cli.add_command(import_group)
