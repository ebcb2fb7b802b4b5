"""``elibrary licenses add`` (``elibrary jobs run`` is in ``elibrary.job_commands``)."""
from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup

from elibrary.catalog.titles import find_title
from elibrary.cli_support import one_line_errors, runtime
from elibrary.errors import InvalidInput
from elibrary.lending import services
from elibrary.lending.models import LicenseModel


@click.group("licenses", cls=AppGroup)
def licenses_group() -> None:
    """Licences bought for titles."""


@licenses_group.command("add")
@click.argument("title_key")
@click.option("--model", "model", required=True, type=click.Choice([m.value for m in LicenseModel]), help="The licence model.")
@click.option("--copies", type=int, default=None, help="Simultaneous loans (one-copy: 1).")
@click.option("--loans", type=int, default=None, help="Total loans allowed (metered-loans, or a cap).")
@click.option("--until", "until", default=None, help="Last day of the licence, YYYY-MM-DD (Japan time).")
@click.option("--loan-days", type=int, default=None, help="Longest loan under this licence, in days.")
@click.option("--drm-free", is_flag=True, help="Allow downloading the file without DRM.")
@click.option("--classroom-display", is_flag=True, help="The licence allows showing the book on a classroom screen (提示).")
@click.option("--text-search/--no-text-search", "text_search", default=None,
              help="Whether the book's text may be searched and shown in snippets (本文検索); default: on for open licences only.")
@one_line_errors
def add_command(title_key: str, model: str, copies: int | None, loans: int | None, until: str | None, loan_days: int | None, drm_free: bool,
                classroom_display: bool, text_search: bool | None) -> None:
    """Add a licence to a title (TITLE_KEY is an ISBN or the title's id)."""
    rt = runtime()
    end = _parse_date(until) if until else None
    with rt.db.scope() as session:
        title = find_title(session, title_key)
        license = services.add_license(
            session, title.id, model, copies=copies, loans=loans, until=end, loan_days=loan_days, drm_free_download=drm_free, cipher=rt.cipher,
            classroom_display=classroom_display, text_search=text_search,
        )
        click.echo(f"licence {license.id} added to title {title.id} ({model})")


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"日付は YYYY-MM-DD で指定してください: {text}", f"Dates are YYYY-MM-DD: {text}", field="until") from None


def register(cli: click.Group) -> None:
    """Add the commands."""
    cli.add_command(licenses_group)
