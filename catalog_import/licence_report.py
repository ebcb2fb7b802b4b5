"""A distributor's licence report (ライセンス一覧) as plain lines, for the licence check (蔵書点検).

CSV or TSV, UTF-8 (with or without BOM) or cp932, Japanese or English headers. Pure: bytes in, lines and
problems out; ``elibrary.selection.reconcile`` compares them with the library's licences.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from datetime import date

from catalog_import.tabular import detect_encoding, header_key
from elibrary.catalog.isbn import is_valid_isbn, normalize_isbn
from elibrary.errors import InvalidInput
from elibrary.selection.offers import MODEL_WORDS
from elibrary.selection.reconcile import ReportLine

COLUMNS = {
    "isbn": ("ISBN", "ISBN13", "ISBNコード"),
    "title": ("書名", "タイトル", "title"),
    "model": ("ライセンス種別", "ライセンス", "種別", "契約形態", "model"),
    "copies": ("同時貸出数", "同時アクセス数", "冊数", "copies"),
    "loans": ("残り貸出回数", "残回数", "残り回数", "loans"),
    "until": ("有効期限", "利用期限", "契約終了日", "until"),
    "distributor": ("提供元", "取次", "distributor"),
}
HEADERS = {header_key(name): field for field, names in COLUMNS.items() for name in names}
MAX_LINES = 200_000


def read_licence_report(data: bytes) -> tuple[list[ReportLine], list[tuple[int, str]], str]:
    """The report's lines, the rows not read (line number, Japanese reason) and the distributor it names."""
    text = data.decode(detect_encoding(data[:65536]), errors="replace")
    first = text.split("\n", 1)[0]
    rows = list(csv.reader(io.StringIO(text), delimiter="\t" if first.count("\t") > first.count(",") else ","))
    if not rows:
        raise InvalidInput("ライセンス一覧のファイルが空です。", "The licence report is empty.", field="file")
    fields = [HEADERS.get(header_key(cell)) for cell in rows[0]]
    if "isbn" not in fields or "model" not in fields:
        raise InvalidInput("ライセンス一覧に「ISBN」と「ライセンス種別」の列が必要です。", "The report needs ISBN and licence type columns.", field="file")
    if len(rows) > MAX_LINES:
        raise InvalidInput(f"ライセンス一覧は{MAX_LINES:,}行までです。", f"At most {MAX_LINES:,} lines.", field="file")
    lines, problems, distributors = [], [], set()
    for number, row in enumerate(rows[1:], start=2):
        values = {f: unicodedata.normalize("NFKC", cell).strip() for f, cell in zip(fields, row, strict=False) if f and cell.strip()}
        if not values:
            continue
        try:
            lines.append(_line(number, values))
        except ValueError as exc:
            problems.append((number, str(exc)))
            continue
        if values.get("distributor"):
            distributors.add(values["distributor"])
    return lines, problems, "・".join(sorted(distributors))[:200]


def _line(number: int, values: dict[str, str]) -> ReportLine:
    isbn = values.get("isbn", "").replace("-", "")
    if not is_valid_isbn(isbn):
        raise ValueError(f"ISBN「{values.get('isbn', '')}」が正しくありません。")
    word = values.get("model", "")
    model = MODEL_WORDS.get(word.lower().replace(" ", ""))
    if model is None:
        raise ValueError(f"ライセンス種別「{word}」が分かりません（ワンコピー・同時アクセス・回数制限・期間制限・読み放題）。")
    return ReportLine(line=number, isbn=normalize_isbn(isbn), title=values.get("title", "")[:300], model=model,
                      copies=_count(values.get("copies"), "同時貸出数"), loans=_count(values.get("loans"), "残り貸出回数"),
                      until=_date(values.get("until")))


def _count(value: str | None, name: str) -> int | None:
    if not value:
        return None
    digits = value.replace(",", "").rstrip("回冊人")
    if not digits.isdigit():
        raise ValueError(f"{name}「{value}」が数字ではありません。")
    return int(digits)


def _date(value: str | None) -> str | None:
    if not value:
        return None
    match = re.fullmatch(r"(\d{4})[-/年.](\d{1,2})[-/月.](\d{1,2})日?", value)
    try:
        return date(int(match[1]), int(match[2]), int(match[3])).isoformat() if match else date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError(f"有効期限「{value}」を日付として読めません（例: 2027/03/31）。") from None
