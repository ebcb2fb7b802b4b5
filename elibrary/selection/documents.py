"""An order's documents: the distributor's order CSV (columns and encoding a setting) and the PDF 発注書.

``ELIBRARY_ORDER_CSV`` = ``{"encoding": "cp932", "columns": [["ISBN", "isbn"], ["数量", "quantity"], ...]}``;
fields are those of ``ORDER_FIELDS``. Every cell is neutralised against spreadsheet formulas (a title or
note starting with ``=`` is written as text), as the catalog import's reports are.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from elibrary.csvcells import safe_cell
from elibrary.errors import InvalidInput
from elibrary.lending.policy import TOKYO
from elibrary.reports.pdf import new_document
from elibrary.selection.models import Order, OrderState
from elibrary.selection.money import ROUNDING, fiscal_year_label
from elibrary.selection.orders import order_totals, terms_of

ORDER_FIELDS = {
    "order_number": lambda o, line: o.number,
    "distributor": lambda o, line: o.distributor,
    "isbn": lambda o, line: line.isbn or "",
    "title": lambda o, line: line.description,
    "offer_code": lambda o, line: (line.terms or {}).get("offer_code", ""),
    "license": lambda o, line: terms_of(line).summary("ja"),
    "quantity": lambda o, line: line.quantity,
    "unit_price": lambda o, line: line.unit_price,
    "amount": lambda o, line: line.amount,
    "tax_rate": lambda o, line: f"{line.tax_rate}%",
    "note": lambda o, line: (line.terms or {}).get("note", ""),
}
DEFAULT_FORMAT: dict[str, Any] = {
    "encoding": "cp932",
    "columns": [["発注番号", "order_number"], ["ISBN", "isbn"], ["書名", "title"], ["商品コード", "offer_code"],
                ["ライセンス", "license"], ["数量", "quantity"], ["単価（税抜）", "unit_price"], ["金額（税抜）", "amount"],
                ["税率", "tax_rate"], ["備考", "note"]],
}


def order_format(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The configured order CSV format, checked."""
    chosen = settings.get("ELIBRARY_ORDER_CSV") or DEFAULT_FORMAT
    columns = chosen.get("columns") or DEFAULT_FORMAT["columns"]
    unknown = [f for _, f in columns if f not in ORDER_FIELDS]
    if unknown:
        raise InvalidInput(f"ELIBRARY_ORDER_CSV に不明な項目があります: {', '.join(unknown)}",
                           f"ELIBRARY_ORDER_CSV names unknown fields: {', '.join(unknown)} (known: {', '.join(ORDER_FIELDS)})")
    return {"encoding": chosen.get("encoding") or "cp932", "columns": columns}


def order_csv(order: Order, settings: Mapping[str, Any]) -> bytes:
    """The order as the distributor's CSV (lines still on order or received; cancelled left out)."""
    fmt = order_format(settings)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(header) for header, _ in fmt["columns"]])
    for line in order.lines:
        if line.state == OrderState.cancelled:
            continue
        writer.writerow([safe_cell(ORDER_FIELDS[name](order, line)) for _, name in fmt["columns"]])
    return out.getvalue().encode(fmt["encoding"], errors="replace")


def order_pdf(order: Order, settings: Mapping[str, Any]) -> bytes:
    """The 発注書 (A4): 年度, fund, distributor, lines, subtotal and tax per rate, total."""
    library = str(settings.get("ELIBRARY_LIBRARY_NAME") or "電子図書館")
    year = fiscal_year_label(order.fund.fiscal_year)
    doc = new_document(f"発注書 {order.number}", settings, author=library)
    doc.heading("発注書")
    doc.paragraph(f"{order.distributor} 御中", "subheading")
    ordered_on = order.created_at.astimezone(TOKYO).date()
    doc.paragraph(f"発注番号: {order.number}\n発注日: {ordered_on.year}年{ordered_on.month}月{ordered_on.day}日\n"
                  f"年度: {year}\n予算: {order.fund.name}\n発注者: {library}")
    doc.space(10)
    rows = []
    for number, line in enumerate((item for item in order.lines if item.state != OrderState.cancelled), start=1):
        rows.append([number, line.description, line.isbn or "", terms_of(line).summary("ja"), line.quantity,
                     f"{line.unit_price:,}", f"{line.amount:,}", f"{line.tax_rate}%"])
    summary = order_totals(order)
    footer = [["", "小計（税抜）", "", "", "", "", f"{summary.subtotal:,}", ""]]
    for rate in sorted(summary.subtotals, reverse=True):
        footer.append(["", f"消費税（{rate}%対象 ¥{summary.subtotals[rate]:,}）", "", "", "", "", f"{summary.taxes[rate]:,}", ""])
    footer.append(["", "合計（税込）", "", "", "", "", f"{summary.total:,}", ""])
    doc.table(["No", "書名", "ISBN", "ライセンス", "数量", "単価", "金額", "税率"], rows, footer=footer,
              widths=[28, 126, 100, 76, 36, 48, 58, 36], numeric=(0, 4, 5, 6))
    doc.space(8)
    doc.paragraph(f"金額は円。消費税は税率ごとに合計額から計算し、1円未満は{ROUNDING.get(order.tax_rounding, order.tax_rounding)}。", "small")
    return doc.render()

