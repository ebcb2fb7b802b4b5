"""Reading a distributor's licence report (CSV, UTF-8 or Shift_JIS/cp932): pure, bytes in, entries and problems out.

Distributors name their columns differently; a header is recognised by any of the names in ``COLUMNS``
(Japanese or English, case and spaces ignored). Only the ISBN is required; a row without copies,
loans or end date says nothing about them (they are then not compared).
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import asdict, dataclass
from datetime import date

COLUMNS = {
    "isbn": ("isbn", "isbn13", "isbnコード", "isbn-13"),
    "title": ("書名", "タイトル", "title", "品名"),
    "model": ("ライセンス種別", "ライセンス形態", "提供形態", "model", "licensemodel", "license_model"),
    "copies": ("同時貸出数", "同時利用数", "冊数", "ライセンス数", "copies", "concurrency"),
    "loans": ("残り貸出回数", "残貸出回数", "貸出可能回数", "loansremaining", "loans_remaining", "loans"),
    "until": ("有効期限", "利用期限", "ライセンス期限", "期限", "until", "expires", "validuntil", "valid_until"),
    "reference": ("ライセンスid", "ライセンス番号", "契約番号", "licenseid", "license_id", "reference"),
}
MODELS = {
    "one-copy": "one-copy", "ワンコピーワンユーザー": "one-copy", "ワンコピー": "one-copy", "1c1u": "one-copy",
    "concurrent": "concurrent", "マルチユーザー": "concurrent", "ワンコピーマルチユーザー": "concurrent", "同時アクセス": "concurrent",
    "metered-loans": "metered-loans", "回数制限": "metered-loans", "貸出回数制限": "metered-loans",
    "metered-time": "metered-time", "期間制限": "metered-time", "期限付き": "metered-time",
    "open": "open", "無制限": "open", "読み放題": "open",
}
MAX_ROWS = 200_000


@dataclass(frozen=True)
class ReportEntry:
    """One licence as the distributor reports it."""

    isbn: str
    title: str = ""
    model: str | None = None
    copies: int | None = None
    loans: int | None = None
    until: date | None = None
    reference: str = ""

    def to_json(self) -> dict:
        """For storing the report."""
        data = asdict(self)
        data["until"] = self.until.isoformat() if self.until else None
        return data

    @classmethod
    def from_json(cls, data: dict) -> ReportEntry:
        """The inverse of ``to_json``."""
        return cls(**{**data, "until": date.fromisoformat(data["until"]) if data.get("until") else None})


@dataclass(frozen=True)
class Problem:
    """A row that could not be read (line number in the file, and why)."""

    line: int
    reason_ja: str
    reason_en: str


def _key(header: str) -> str:
    return re.sub(r"[\s_・]", "", unicodedata.normalize("NFKC", header)).lower()


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp932")


def _isbn(raw: str) -> str | None:
    digits = re.sub(r"[^0-9Xx]", "", unicodedata.normalize("NFKC", raw))
    if len(digits) == 10:  # ISBN-10 → ISBN-13
        body = "978" + digits[:9]
        check = (10 - sum((1 if i % 2 == 0 else 3) * int(c) for i, c in enumerate(body)) % 10) % 10
        digits = body + str(check)
    if len(digits) != 13 or not digits.isdigit():
        return None
    if (10 - sum((1 if i % 2 == 0 else 3) * int(c) for i, c in enumerate(digits[:12])) % 10) % 10 != int(digits[12]):
        return None
    return digits


def _number(raw: str) -> int | None:
    text = unicodedata.normalize("NFKC", raw).replace(",", "").strip()
    if text in ("", "-", "―", "無制限"):
        return None
    return int(text)


def _date(raw: str) -> date | None:
    text = unicodedata.normalize("NFKC", raw).strip()
    if text in ("", "-", "―", "無期限"):
        return None
    match = re.fullmatch(r"(\d{4})[-/年.](\d{1,2})[-/月.](\d{1,2})日?", text)
    if not match:
        raise ValueError(text)
    return date(*(int(part) for part in match.groups()))


def parse_report(data: bytes) -> tuple[list[ReportEntry], list[Problem]]:
    """The entries of a licence report and the rows that could not be read."""
    try:
        text = _decode(data)
    except UnicodeDecodeError:
        return [], [Problem(1, "文字コードが UTF-8 でも Shift_JIS でもありません。", "The file is neither UTF-8 nor Shift_JIS.")]
    rows = csv.reader(io.StringIO(text, newline=""))
    header = next(rows, None)
    if header is None:
        return [], [Problem(1, "ファイルが空です。", "The file is empty.")]
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        for field, names in COLUMNS.items():
            if _key(name) in names and field not in positions:
                positions[field] = index
    if "isbn" not in positions:
        return [], [Problem(1, "ISBN の列が見つかりません（見出し行に「ISBN」が必要です）。", "No ISBN column (the header row needs 'ISBN').")]
    entries: list[ReportEntry] = []
    problems: list[Problem] = []
    for line, row in enumerate(rows, start=2):
        if line > MAX_ROWS:
            problems.append(Problem(line, "行数が多すぎます。", "Too many rows."))
            break
        if not any(cell.strip() for cell in row):
            continue

        cells = {field: (row[index].strip() if index < len(row) else "") for field, index in positions.items()}

        def cell(field: str, cells: dict[str, str] = cells) -> str:
            return cells.get(field, "")

        isbn = _isbn(cell("isbn"))
        if isbn is None:
            problems.append(Problem(line, f"ISBN「{cell('isbn')[:20]}」が正しくありません。", f"Invalid ISBN {cell('isbn')[:20]!r}."))
            continue
        model = cell("model")
        try:
            entries.append(ReportEntry(isbn=isbn, title=cell("title")[:200], model=MODELS.get(_key(model)) if model else None,
                                       copies=_number(cell("copies")), loans=_number(cell("loans")), until=_date(cell("until")),
                                       reference=cell("reference")[:100]))
        except ValueError:
            problems.append(Problem(line, "冊数・回数・期限のいずれかが読めません。", "Copies, loans or end date cannot be read."))
    return entries, problems
