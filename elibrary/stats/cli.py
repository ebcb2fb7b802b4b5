"""``elibrary stats export --year 2026 --format xlsx|csv|pdf [--by ...] [--encoding cp932] FILE`` and ``elibrary stats mail``."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from elibrary.cli_support import one_line_errors, runtime
from elibrary.db import utcnow
from elibrary.errors import InvalidInput
from elibrary.stats import exports
from elibrary.stats.periods import fiscal_period

DEFAULT_BY = "month,category,age,school,grade,ndc,audience,license,format,hour"


@click.group("stats", cls=AppGroup)
def stats_group() -> None:
    """Statistics (統計)."""


@stats_group.command("export")
@click.option("--year", type=int, required=True, help="The 年度 by the year it starts: 2026 = 令和8年度 (April 2026 – March 2027).")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "pdf"]), required=True)
@click.option("--by", default=DEFAULT_BY, show_default=True, help="Breakdowns, comma-separated (one table or sheet each).")
@click.option("--measure", default="loans", show_default=True, help="Measures, comma-separated (loans, borrowers, holds, ...).")
@click.option("--encoding", type=click.Choice(["utf-8", "cp932"]), default="utf-8", show_default=True, help="For CSV.")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@one_line_errors
def export(year: int, fmt: str, by: str, measure: str, encoding: str, file: Path) -> None:
    """Write a 年度's statistics (summary, breakdowns, catalog size, the JLA survey's e-book fields) to FILE."""
    breakdowns = [b.strip() for b in by.split(",") if b.strip()]
    measures = [m.strip() for m in measure.split(",") if m.strip()]
    if not breakdowns:
        raise InvalidInput("--by に内訳を1つ以上指定してください。", "Give at least one breakdown with --by.")
    rt = runtime()
    with rt.db.scope(write=False) as session:
        if fmt == "pdf":
            body = exports.report_pdf(session, fiscal_period(year), rt.settings)
        else:
            sheets = exports.year_sheets(session, year, breakdowns, measures)
            body = exports.to_xlsx(sheets) if fmt == "xlsx" else exports.to_csv(sheets, encoding)
    file.write_bytes(body)
    click.echo(f"{file}: {fiscal_period(year).label}, {len(body):,} bytes")


@stats_group.command("mail")
@one_line_errors
def mail() -> None:
    """Send last month's report to the addresses in the statistics settings now."""
    from elibrary.stats.jobs import monthly_report

    click.echo(monthly_report(runtime(), utcnow(), force=True))


def register(cli) -> None:
    """Add ``elibrary stats`` to the command line."""
    cli.add_command(stats_group)
