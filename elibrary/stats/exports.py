"""The same reports as files: CSV (UTF-8 with BOM, or cp932), Excel (.xlsx) and the PDF monthly/annual report.

Every file is made from ``reports.build_report`` tables, so the figures agree with the page; cells hidden as
"<N" stay hidden, and every text cell goes through ``csvcells.safe_cell`` (a title starting with ``=`` is
never run by a spreadsheet).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from elibrary.catalog.models import Title, TitleStatus
from elibrary.csvcells import safe_cell
from elibrary.errors import InvalidInput
from elibrary.lending.models import License, LicenseModel
from elibrary.stats.measures import BREAKDOWNS, MEASURES, SOURCE_BREAKDOWNS
from elibrary.stats.periods import Period, fiscal_period
from elibrary.stats.reports import Report, ReportRequest, build_report

ENCODINGS = ("utf-8", "cp932")
SUMMARY_MEASURES = ("loans", "borrowers", "returns", "renewals", "holds", "holds_filled", "school_accounts", "registrations", "views",
                    "searches", "zero_searches", "visits", "reader_visits")


@dataclass
class Sheet:
    """One table of an export: a name (sheet or CSV section), a header and rows of text or numbers."""

    name: str
    title: str
    header: list[str]
    rows: list[list[Any]]


def report_sheet(report: Report, name: str | None = None) -> Sheet:
    """A report as a table: breakdown value, month columns, total, a year earlier, change."""
    header = [report.breakdown_label if report.request.breakdown != "none" else "", *report.columns, "合計",
              f"前年同期（{report.previous_period.label}）", "増減"]
    rows = [[row.label, *(c.number for c in row.cells), row.total.number, row.previous.number, row.change] for row in report.rows]
    if report.request.breakdown != "none":
        rows.append([report.total.label, *(c.number for c in report.total.cells), report.total.total.number, report.total.previous.number,
                     report.total.change])
    title = f"{report.measure_label}（{report.breakdown_label}） {report.request.period.label}"
    return Sheet(name or f"{report.measure_label}_{report.breakdown_label}"[:31], title, header, rows)


def summary_sheet(session: Session, period: Period, school: str | None = None) -> Sheet:
    """Every measure in the period against a year earlier."""
    rows = []
    for name in SUMMARY_MEASURES:
        report = build_report(session, ReportRequest(name, "none", period, school))
        rows.append([MEASURES[name].ja, report.total.total.number, report.total.previous.number, report.total.change])
    return Sheet("概要", f"利用統計の概要 {period.label}", ["項目", "件数", f"前年同期（{period.year_earlier().label}）", "増減"], rows)


def collection_sheet(session: Session, on: date) -> Sheet:
    """Catalog size on a day: titles, licensed titles, open titles, licences by model."""
    from datetime import datetime, time, timezone

    end = datetime.combine(on, time(23, 59, 59), tzinfo=timezone.utc)
    titles = session.scalar(select(func.count()).select_from(Title).where(Title.status == TitleStatus.active, Title.created_at <= end)) or 0
    by_model = dict(session.execute(select(License.model, func.count()).where(License.created_at <= end).group_by(License.model)).all())
    open_titles = session.scalar(select(func.count(func.distinct(License.title_id))).where(License.model == LicenseModel.open,
                                                                                          License.created_at <= end)) or 0
    rows = [["タイトル数（公開中）", titles], ["読み放題（オープン）のタイトル", open_titles]]
    labels = {"one-copy": "1冊1人", "concurrent": "同時利用", "metered-loans": "回数制限", "metered-time": "期間制限", "open": "オープン"}
    for model in LicenseModel:
        rows.append([f"ライセンス数: {labels.get(model.value, model.value)}", int(by_model.get(model, 0))])
    return Sheet("蔵書", f"電子書籍の蔵書 {on.isoformat()}現在", ["項目", "数"], rows)


def jla_sheet(session: Session, year: int) -> Sheet:
    """The 年度's e-book figures in the shape of the JLA survey 『日本の図書館』 (電子書籍の項目)."""
    period = fiscal_period(year)
    collection = {row[0]: row[1] for row in collection_sheet(session, period.end).rows}

    def total(name: str) -> Any:
        return build_report(session, ReportRequest(name, "none", period)).total.total.number

    licensed = sum(v for k, v in collection.items() if k.startswith("ライセンス数") and "オープン" not in k)
    rows = [
        ["年度", period.label],
        ["電子書籍サービスの実施", "有"],
        ["電子書籍 所蔵タイトル数（年度末）", collection["タイトル数（公開中）"]],
        ["  うち購入・契約ライセンス数", licensed],
        ["  うち無料公開（オープン）タイトル数", collection["読み放題（オープン）のタイトル"]],
        ["電子書籍 年間貸出数（個人貸出）", total("loans")],
        ["電子書籍 年間予約件数", total("holds")],
        ["電子書籍 実利用者数", total("borrowers")],
        ["電子図書館 新規登録者数", total("registrations")],
        ["電子図書館 サイト訪問数", total("visits")],
    ]
    return Sheet("JLA調査_電子書籍", f"『日本の図書館』調査票 電子書籍の項目 {period.label}", ["調査項目", "値"], rows)


def year_sheets(session: Session, year: int, breakdowns: Sequence[str], measures: Sequence[str] = ("loans",)) -> list[Sheet]:
    """The 年度 export: summary, a sheet per measure and breakdown, catalog size and the JLA sheet."""
    period = fiscal_period(year)
    sheets = [summary_sheet(session, period)]
    for measure in measures:
        if measure not in MEASURES:
            raise InvalidInput(f"集計項目「{measure}」はありません。", f"Unknown measure {measure!r}.", field="measure")
        for breakdown in breakdowns:
            if breakdown not in BREAKDOWNS:
                raise InvalidInput(f"内訳「{breakdown}」はありません（{', '.join(BREAKDOWNS)}）。", f"Unknown breakdown {breakdown!r}.", field="by")
            if breakdown in SOURCE_BREAKDOWNS[MEASURES[measure].source]:
                sheets.append(report_sheet(build_report(session, ReportRequest(measure, breakdown, period))))
    sheets += [collection_sheet(session, period.end), jla_sheet(session, year)]
    return sheets


def to_csv(sheets: Iterable[Sheet], encoding: str = "utf-8") -> bytes:
    """CSV: each table under its title, a blank line between; UTF-8 with BOM (Excel) or cp932."""
    if encoding not in ENCODINGS:
        raise InvalidInput("文字コードは utf-8 か cp932 を選んでください。", "The encoding must be utf-8 or cp932.", field="encoding")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for index, sheet in enumerate(sheets):
        if index:
            writer.writerow([])
        writer.writerow([safe_cell(sheet.title)])
        writer.writerow([safe_cell(h) for h in sheet.header])
        for row in sheet.rows:
            writer.writerow([v if isinstance(v, int) else safe_cell(v) for v in row])
    text = out.getvalue()
    if encoding == "cp932":
        return text.encode("cp932", errors="replace")
    return "\ufeff".encode() + text.encode("utf-8")


def to_xlsx(sheets: Iterable[Sheet]) -> bytes:
    """An Excel workbook, one worksheet per table; numbers stay numbers, text cells are never formulas."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    for sheet in sheets:
        name = _sheet_name(sheet.name, used)
        ws = book.create_sheet(name)
        ws.append([safe_cell(sheet.title)])
        ws["A1"].font = Font(bold=True)
        ws.append([safe_cell(h) for h in sheet.header])
        for row in sheet.rows:
            ws.append([v if isinstance(v, int) else safe_cell(v) for v in row])
        for cells in ws.iter_rows():
            for c in cells:
                if isinstance(c.value, str):
                    c.data_type = "s"  # "=..." is text, never a formula
        ws.column_dimensions["A"].width = 34
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_name(name: str, used: set[str]) -> str:
    base = "".join(ch for ch in name if ch not in "[]:*?/\\")[:28] or "表"
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}{n}", n + 1
    used.add(candidate)
    return candidate


def report_pdf(session: Session, period: Period, settings: Mapping[str, Any] | None = None, *, school: str | None = None) -> bytes:
    """The monthly or annual report as a board of education receives it: cover, summary, charts, breakdowns."""
    from elibrary.reports import pdf as pdf_reports
    from elibrary.stats.charts import report_chart

    library = (settings or {}).get("ELIBRARY_LIBRARY_NAME") or "電子図書館"
    kind = "年報" if period.kind == "year" else "月報"
    doc = pdf_reports.new_document(f"電子図書館 利用統計 {kind} {period.label}", settings, author=library)
    doc.space(160).heading(f"電子図書館 利用統計{kind}").paragraph(period.label, "subheading")
    doc.space(24).paragraph(f"{library}" + (f"　学校: {school}" if school else "")).paragraph(f"作成日 {date.today().isoformat()}")
    doc.space(24).paragraph("数値は個人を特定できない統計（利用者の識別子を含まない記録）から集計しています。"
                            "少人数の欄は「<N」と表示しています。年度は4月1日から翌年3月31日まで（日本時間）です。", "small")
    from reportlab.platypus import CondPageBreak, PageBreak

    doc.add(PageBreak())
    summary = summary_sheet(session, period, school) if not school else _school_summary(session, period, school)
    doc.paragraph("1. 概要", "subheading").table(summary.header, _thousands(summary.rows), numeric=(1, 2))
    sections = [("loans", "month"), ("loans", "age"), ("loans", "ndc"), ("loans", "category"), ("loans", "hour"), ("borrowers", "age"),
                ("holds", "month"), ("loans", "school"), ("loans", "license")]
    if period.kind != "year":
        sections = [s for s in sections if s[1] != "month"]
    if school:
        sections = [("loans", "month"), ("loans", "grade"), ("loans", "ndc"), ("borrowers", "grade")]
    for number, (measure, breakdown) in enumerate(sections, start=2):
        report = build_report(session, ReportRequest(measure, breakdown, period, school))
        chart = report_chart(report, settings, for_pdf=True) if report.rows and breakdown != "school" else None
        doc.add(CondPageBreak((chart.height if chart is not None else 0) + 160))  # a heading never ends a page alone
        doc.paragraph(f"{number}. {report.measure_label}（{report.breakdown_label}）", "subheading")
        if chart is not None:
            doc.add(chart)
        sheet = report_sheet(report)
        compact = [[r[0], *r[-3:]] for r in sheet.rows] if report.columns else sheet.rows  # the months are on the page's other tables
        header = [sheet.header[0], *sheet.header[-3:]] if report.columns else sheet.header
        doc.table(header, _thousands(compact), numeric=(1, 2))
        for note in report.notes:
            doc.paragraph(note, "small")
    if not school:
        collection = collection_sheet(session, period.end)
        doc.paragraph(f"{len(sections) + 2}. {collection.title}", "subheading").table(collection.header, _thousands(collection.rows), numeric=(1,))
    return doc.render()


def _thousands(rows: Iterable[Sequence[Any]]) -> list[list[Any]]:
    return [[f"{v:,}" if isinstance(v, int) else v for v in row] for row in rows]


def _school_summary(session: Session, period: Period, school: str) -> Sheet:
    rows = []
    for name in ("loans", "borrowers", "holds", "returns"):
        report = build_report(session, ReportRequest(name, "none", period, school))
        rows.append([MEASURES[name].ja, report.total.total.number, report.total.previous.number, report.total.change])
    return Sheet("概要", f"利用統計の概要 {period.label}", ["項目", "件数", "前年同期", "増減"], rows)


def summary_text(session: Session, period: Period) -> str:
    """The summary as plain text lines, for the monthly e-mail."""
    sheet = summary_sheet(session, period)
    return "\n".join(f"{row[0]}: {row[1] if isinstance(row[1], str) else f'{row[1]:,}'}（前年同期 "
                     f"{row[2] if isinstance(row[2], str) else f'{row[2]:,}'}）" for row in sheet.rows)
