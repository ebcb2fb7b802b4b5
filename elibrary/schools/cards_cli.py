"""``elibrary schools cards``: sign-in cards as a PDF (added to the ``schools`` group of ``schools/cli.py``)."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from elibrary.cli_support import one_line_errors, runtime
from elibrary.schools import cards
from elibrary.schools.accounts import fresh_passwords
from elibrary.schools.directory import current_school_year
from elibrary.schools.signin_tokens import japan_today

DEVELOPMENT_URL = "http://127.0.0.1:5000"


@click.command("cards")
@click.option("--school", "school_code", required=True, help="The school's code (学校コード).")
@click.option("--class", "grade_class", default=None, help="One class as GRADE-CLASS, e.g. 3-2 (default: the whole school).")
@click.option("--year", type=int, default=None, help="The 年度 (default: the current one).")
@click.option("--keep-passwords", is_flag=True, help="Do not reset passwords: the cards say the password is unchanged.")
@click.argument("out", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@with_appcontext
@one_line_errors
def cards_command(school_code: str, grade_class: str | None, year: int | None, keep_passwords: bool, out: Path) -> None:
    """Issue sign-in cards (login id, new password, QR sign-in) for a class or a school as an A4 PDF.

    The cards printed before for the same pupils stop working (their QR codes and link codes).
    """
    from elibrary.db import utcnow

    rt = runtime()
    base_url = rt.settings.get("ELIBRARY_PUBLIC_URL") or DEVELOPMENT_URL
    if not rt.settings.get("ELIBRARY_PUBLIC_URL"):
        click.echo(f"ELIBRARY_PUBLIC_URL is not set: the QR codes open {DEVELOPMENT_URL} (set it for real cards)", err=True)
    year = year or current_school_year(utcnow())
    made_before = []
    if not keep_passwords:  # the new passwords are hashed before the writing transaction (1,000 take seconds)
        with rt.db.scope(write=False) as session:
            count = len(cards.card_holders(session, school_code=school_code, year=year, grade_class=cards.parse_class(grade_class))[1])
        made_before = fresh_passwords(count)
    with rt.db.scope() as session:
        entries = cards.issue_class_cards(session, rt.cipher, school_code=school_code, year=year, grade_class=cards.parse_class(grade_class),
                                          base_url=base_url, issued_by="cli", reset_passwords=not keep_passwords, made_before=made_before)
        pdf = cards.render_cards_pdf(entries, rt.settings, title=f"ログインカード {school_code} {grade_class or ''}".strip(), issued_on=japan_today())
        out.write_bytes(pdf)  # written before the commit: no card is issued that nobody can print
    click.echo(f"{len(entries)} cards written to {out}")


def register(cli: click.Group) -> None:
    """Add ``cards`` to ``elibrary schools`` (registered after ``schools/cli.py``)."""
    cli.commands["schools"].add_command(cards_command)
