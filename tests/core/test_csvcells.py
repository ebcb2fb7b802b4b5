"""One neutraliser of spreadsheet formula cells for every CSV handed to staff."""
from __future__ import annotations

from elibrary.csvcells import safe_cell


def test_formula_cells_are_shown_as_text_full_width_forms_included():
    assert [safe_cell(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "＝1+1", "＋1", "－1", "＠x")] == [
        "'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "'＝1+1", "'＋1", "'－1", "'＠x"]
    assert [safe_cell(v) for v in (None, 12, "普通の書名", "a=b")] == ["", "12", "普通の書名", "a=b"]


def test_every_csv_export_uses_the_same_function():
    from catalog_import import report
    from elibrary.audit import services as audit
    from elibrary.selection import documents, order_views

    assert report.safe_cell is audit.safe_cell is documents.safe_cell is order_views.safe_cell is safe_cell
