"""The report of rejected records, as CSV a librarian opens in Excel: one row per record, with where it
is in the file and what to do about it. Cells are neutralised so a formula from a hostile file is shown
as text, never run (CSV injection).
"""
from __future__ import annotations

import csv
from typing import TextIO

from catalog_import.records import Problem
from elibrary.csvcells import safe_cell  # noqa: F401  (API: the one implementation, re-exported)

REPORT_HEADER = ("位置 position", "レコードID record id", "タイトル title", "項目 field", "理由 reason", "reason (English)")

class ReportWriter:
    """Writes rejected records to a text stream as they happen (the whole list is never held)."""

    def __init__(self, stream: TextIO) -> None:
        self._writer = csv.writer(stream, lineterminator="\r\n")
        self._writer.writerow(REPORT_HEADER)
        self.count = 0

    def write(self, problem: Problem) -> None:
        """Add one rejected record."""
        self._writer.writerow([safe_cell(v) for v in (problem.position, problem.record_id, problem.title, problem.field,
                                                      problem.reason_ja, problem.reason_en)])
        self.count += 1


def template_csv(stream: TextIO) -> None:
    """The CSV template offered in the admin: the Japanese header row (see ``tabular.COLUMNS``)."""
    from catalog_import.tabular import TEMPLATE_HEADERS

    csv.writer(stream, lineterminator="\r\n").writerow(TEMPLATE_HEADERS)
