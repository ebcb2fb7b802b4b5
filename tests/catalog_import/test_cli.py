"""``elibrary import``: summary line, report file, dry run, a one-line error for an unreadable file."""
from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from elibrary.catalog.models import Title
from tests.conftest import FILES

JP_REF = FILES / "catalog_import" / "jp_onix30_ref.xml"


def titles(rt) -> int:
    with rt.db.scope(write=False) as session:
        return session.scalar(select(func.count()).select_from(Title))


def test_import_prints_a_summary_and_the_rejections(runner, rt):
    result = runner.invoke(args=["import", "onix", str(JP_REF)])
    assert result.exit_code == 0, result.output
    assert "added 2, updated 0, unchanged 0, rejected 1" in result.output
    assert "rejected product 2 jp.midori.0002" in result.output
    again = runner.invoke(args=["import", "onix", str(JP_REF)])
    assert "added 0, updated 0, unchanged 2, rejected 1" in again.output
    assert titles(rt) == 2


def test_report_file_and_dry_run(runner, rt, tmp_path):
    report = tmp_path / "report.csv"
    result = runner.invoke(args=["import", "onix", str(JP_REF), "--dry-run", "--report", str(report)])
    assert result.exit_code == 0 and "dry run: added 2, updated 0, unchanged 0, rejected 1" in result.output
    rows = list(csv.reader(io.StringIO(report.read_text(encoding="utf-8-sig"))))
    assert rows[0][0].startswith("位置") and rows[1][0] == "product 2" and "check digit" in rows[1][5]
    assert titles(rt) == 0


def test_validate_refuses_an_invalid_message(runner, rt):
    result = runner.invoke(args=["import", "onix", "--validate", str(JP_REF)])
    assert result.exit_code == 1 and "script" in result.output
    assert titles(rt) == 0


def test_an_unreadable_file_exits_non_zero_with_one_line(runner, rt, tmp_path):
    bad = tmp_path / "not-onix.xml"
    bad.write_text("<html><body>hello</body></html>")
    result = runner.invoke(args=["import", "onix", str(bad)])
    assert result.exit_code == 1 and "Error: Not an ONIX file" in result.output
