"""CSV and TSV as library staff make them in Excel: UTF-8 (with or without BOM) or cp932, Japanese or
English headers. The column mapping is ``COLUMNS`` (documented in the README, offered as a template).

Cells are data, never formulas: a cell that looks like a spreadsheet formula (``=cmd|...``,
``=HYPERLINK(...)``) rejects its row instead of being stored, and every CSV we write back (reports,
the template) neutralises formula-looking cells (see ``report.safe_cell``).
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterator
from typing import BinaryIO

from catalog_import.csv_rows import BrokenRow, Row, RowReader, broken_reason, byte_lines, encoding_problem, text_lines
from catalog_import.readings import kana_reading
from catalog_import.records import ImportRecord, ParsedItem, Problem
from catalog_import.text import html_to_text, optional, tidy
from elibrary.catalog.credits import ContributorCredit, SubjectEntry

SOURCE = "csv"
MAX_FIELD = 100_000

# field → accepted header names (compared after NFKC, lower case, spaces/underscores/brackets removed).
COLUMNS: dict[str, tuple[str, ...]] = {
    "source_record_id": ("ID", "管理番号", "資料ID", "レコードID", "record_id"),
    "isbn": ("ISBN", "ISBN13", "ISBNコード"),
    "title": ("タイトル", "書名", "題名", "title"),
    "title_reading": ("タイトルヨミ", "書名ヨミ", "タイトル読み", "書名よみ", "ヨミ", "title_reading", "yomi"),
    "subtitle": ("サブタイトル", "副書名", "subtitle"),
    "series_title": ("シリーズ", "シリーズ名", "叢書名", "series"),
    "series_reading": ("シリーズヨミ", "シリーズ名ヨミ", "series_reading"),
    "volume": ("巻次", "巻", "volume"),
    "authors": ("著者", "著者名", "著作者", "author", "authors", "contributors"),
    "author_readings": ("著者ヨミ", "著者名ヨミ", "著者読み", "author_reading", "author_readings"),
    "translators": ("訳者", "翻訳者", "translator", "translators"),
    "illustrators": ("画家", "絵", "イラスト", "illustrator", "illustrators"),
    "editors": ("編者", "編集者", "editor", "editors"),
    "publisher": ("出版社", "出版者", "発行所", "publisher"),
    "published_on": ("出版日", "出版年月日", "発行日", "刊行日", "出版年月", "出版年", "published", "published_on", "date"),
    "ndc": ("NDC", "分類", "分類記号", "日本十進分類"),
    "language": ("言語", "language"),
    "audience": ("対象", "読者対象", "audience"),
    "age_min": ("対象年齢下限", "age_min"),
    "age_max": ("対象年齢上限", "age_max"),
    "description": ("内容紹介", "紹介", "解説", "内容", "description"),
    "subjects": ("件名", "キーワード", "subjects", "keywords"),
    "page_count": ("ページ数", "頁数", "pages", "page_count"),
    "format": ("形式", "format"),
    "cover_url": ("表紙URL", "書影URL", "cover_url"),
}
ROLE_COLUMNS = {"authors": "aut", "translators": "trl", "illustrators": "ill", "editors": "edt"}
AUDIENCES = {"一般": "general", "general": "general", "児童": "children", "こども": "children", "子ども": "children",
             "children": "children", "ya": "ya", "ヤングアダルト": "ya", "ティーンズ": "ya"}
ROLE_WORDS = {"著": "aut", "作": "aut", "文": "aut", "訳": "trl", "絵": "ill", "画": "ill", "編": "edt", "監修": "sup", "写真": "pht", "朗読": "nrt"}
_SPLIT = re.compile(r"\s*[;；／|｜]\s*|\s+/\s+")
_ROLE_SUFFIX = re.compile(r"^(.*?)\s*[（(]\s*(" + "|".join(ROLE_WORDS) + r")\s*[)）]$")
_FORMULA = re.compile(r"^\s*=|^\s*[+\-@]\s*[A-Za-z_.]+\s*\(|^\s*[+\-@=].*\|.*!")
TEMPLATE_HEADERS = ("ISBN", "タイトル", "タイトルヨミ", "サブタイトル", "シリーズ名", "巻次", "著者", "著者ヨミ", "訳者", "画家",
                    "出版社", "出版日", "NDC", "件名", "対象", "内容紹介", "ページ数", "ID")


def header_key(header: str) -> str:
    """A header as headers are compared: NFKC, lower case, without spaces, underscores or brackets."""
    return re.sub(r"[\s_　（）()\[\]【】・]", "", unicodedata.normalize("NFKC", header)).lower()


HEADER_INDEX = {header_key(name): field for field, names in COLUMNS.items() for name in names}


def detect_encoding(sample: bytes) -> str:
    """``utf-8-sig``, ``utf-16``, ``utf-8`` or ``cp932`` from the first bytes of a file.

    Lines are judged one by one, so a UTF-8 file with a stray Shift_JIS row is still read as UTF-8 (and
    that row rejected) instead of the whole file being read as Shift_JIS.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    lines = sample.split(b"\n")
    if len(lines) > 1 and len(sample) >= 64 * 1024:
        lines = lines[:-1]  # the last one may be cut in the middle of a character
    utf8 = other = 0
    for line in lines:
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8 += 1
        except UnicodeDecodeError:
            other += 1
    return "utf-8" if utf8 >= other else "cp932"


def parse_tabular(stream: BinaryIO, *, name: str = "") -> Iterator[ParsedItem]:
    """Records (and problems) of a CSV or TSV file with a header row."""
    sample = stream.read(64 * 1024)
    stream.seek(0)
    encoding = detect_encoding(sample)
    if encoding == "utf-16":
        text = io.TextIOWrapper(stream, encoding=encoding, errors="surrogateescape", newline="")
        try:
            yield from _rows(text_lines(text), sample, name, encoding)
        finally:
            text.detach()  # the caller owns (and closes) the byte stream
    else:
        yield from _rows(byte_lines(stream, encoding), sample, name, encoding)


def _rows(lines, sample: bytes, name: str, encoding: str) -> Iterator[ParsedItem]:
    first_line = sample.split(b"\n", 1)[0]
    delimiter = "\t" if name.lower().endswith(".tsv") or first_line.count(b"\t") > first_line.count(b",") else ","
    csv.field_size_limit(MAX_FIELD)
    reader = RowReader(lines, delimiter)
    header = reader.read()
    if isinstance(header, BrokenRow):
        ja, en = broken_reason(header)
        yield Problem("line 1", f"見出し行を読み込めません。{ja}", f"The header row cannot be read. {en}", fatal=True)
        return
    if header is None or not any(cell.strip() for cell in header.cells):
        yield Problem("line 1", "ファイルが空です。", "The file is empty.", fatal=True)
        return
    fields = [HEADER_INDEX.get(header_key(h)) for h in header.cells]
    if "title" not in fields:
        shown = ", ".join(header.cells)[:200]
        yield Problem("line 1", f"見出し行に「タイトル」（または 書名 / title）の列がありません。見出し: {shown}",
                      f"The header row has no title column (タイトル, 書名 or title). Headers: {shown}", fatal=True)
        return
    reader.fields = fields
    while (row := reader.read()) is not None:
        if isinstance(row, BrokenRow):
            ja, en = broken_reason(row)
            yield Problem(f"line {row.start}", ja, en)
            continue
        if not any(cell.strip() for cell in row.cells):
            continue
        yield map_row(row, fields, encoding)


def map_row(row: Row, fields: list[str | None], encoding: str) -> ParsedItem:
    """One row under the header's ``fields`` as a record, or the problem (wrong encoding, a formula cell, no title)."""
    position = f"line {row.start}"
    cells = [(field, unicodedata.normalize("NFC", cell)) for field, cell in zip(fields, row.cells, strict=False) if field is not None and cell.strip()]
    title = next((cell for field, cell in cells if field == "title"), "")[:100]  # shown in the report, neutralised there
    wrong = encoding_problem(row.raw, "".join(row.cells), encoding)
    if wrong is not None:
        return Problem(position, *wrong, title=title if not any("\udc80" <= ch <= "\udcff" for ch in title) else "")
    values: dict[str, str] = {}
    for field, cell in cells:
        if _FORMULA.match(cell):
            ja = f"「{_label(field)}」の値が表計算の数式のように見えるため取り込みませんでした。先頭の = + - @ を外し、文字として入力してください。"
            en = (f"The {field.replace('_', ' ')} cell looks like a spreadsheet formula and was not imported; "
                  "remove the leading = + - @ and enter it as text.")
            return Problem(position, ja, en, field=field, title=title)
        values.setdefault(field, cell)
    return _record(values, position)


def _label(field: str) -> str:
    return COLUMNS[field][0]


def _record(values: dict[str, str], position: str) -> ParsedItem:
    record = ImportRecord(source=SOURCE, position=position)
    for field in ("source_record_id", "isbn", "title", "subtitle", "series_title", "volume", "publisher", "published_on",
                  "ndc", "language", "age_min", "age_max", "page_count", "format", "cover_url"):
        if field in values:
            setattr(record, field, optional(values[field]))
    for field in ("title_reading", "series_reading"):
        if field in values:
            setattr(record, field, tidy(values[field]) or None)
    if "description" in values:
        record.description = html_to_text(values["description"]) or None
    if "audience" in values:
        word = tidy(values["audience"]).lower()
        record.audience = AUDIENCES.get(word, word)
    if "subjects" in values:
        words = [w for w in re.split(r"\s*[;；、,]\s*", tidy(values["subjects"])) if w]
        record.subjects = [SubjectEntry(w, scheme="keyword") for w in dict.fromkeys(words)] or None
    record.contributors = _contributors(values)
    if not record.title:
        return Problem(position, "タイトルが空です。", "The title is empty.", record_id=record.source_record_id or "", field="title")
    return record


def _contributors(values: dict[str, str]) -> list[ContributorCredit] | None:
    credits: list[ContributorCredit] = []
    readings = [r for r in _SPLIT.split(tidy(values.get("author_readings", ""))) if r] if values.get("author_readings") else []
    for column, default_role in ROLE_COLUMNS.items():
        names = [n for n in _SPLIT.split(tidy(values.get(column, ""))) if n]
        for index, name in enumerate(names):
            role = default_role
            match = _ROLE_SUFFIX.match(name)
            if match:
                name, role = match.group(1), ROLE_WORDS[match.group(2)]
            reading = kana_reading(readings[index]) if column == "authors" and index < len(readings) else ""
            credits.append(ContributorCredit(name, reading, role))
    return credits or None


def fallback_record_id(record: ImportRecord) -> str:
    """A stable id for a row with neither ISBN nor ID, so re-importing the same row finds its title."""
    names = "|".join(c.name for c in record.contributors or ())
    basis = "\x1f".join((record.title or "", record.volume or "", names, record.publisher or ""))
    return "row:" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:24]
