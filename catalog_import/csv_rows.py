"""Logical CSV rows read from physical lines, so that one broken row never swallows the rest of a file.

Python's ``csv`` reader follows an opening quote until it finds a closing one, however many lines later:
a cell typed as ``"佐藤 太郎`` in Excel's formula bar, or a file cut short, turns every following row
into one contributor's name, and the import reports nothing. Here each logical row is checked before it
is believed. A row that spans several lines is *broken* when

- its quotes do not balance (an opening quote that is never closed, or closed by a later row's quote);
- a line break falls inside a cell of a one-line column (only ``description`` may hold line breaks);
- it spans more than ``MAX_ROW_LINES`` lines; or
- one of its continuation lines has as many delimiters as a whole row (a swallowed row, not prose).

A broken row is rejected with its first line number, and reading resumes on the line after it, so the
rows it would have swallowed are read as rows. Each line's bytes are decoded on their own, so a row in
another encoding is named with the right reason (see ``encoding_problem``).
"""
from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

MAX_ROW_LINES = 50  # a description with 49 line breaks is long; a row spanning more is a runaway quote
MULTILINE_FIELDS = frozenset({"description"})


@dataclass(frozen=True)
class Line:
    """One physical line: its number (from 1), its bytes (``None`` for UTF-16) and its text."""

    number: int
    raw: bytes | None
    text: str


@dataclass(frozen=True)
class Row:
    """One logical row: its cells and the physical lines it was read from."""

    cells: list[str]
    lines: list[Line]

    @property
    def start(self) -> int:
        return self.lines[0].number

    @property
    def end(self) -> int:
        return self.lines[-1].number

    @property
    def raw(self) -> bytes | None:
        """The row's bytes as in the file (``None`` when the file is UTF-16)."""
        if any(line.raw is None for line in self.lines):
            return None
        return b"".join(line.raw for line in self.lines)


@dataclass(frozen=True)
class BrokenRow:
    """A row that cannot be trusted (see the module documentation); ``reason`` is one of ``REASONS``."""

    start: int
    end: int
    reason: str


def byte_lines(stream: Iterable[bytes], encoding: str) -> Iterator[Line]:
    """Physical lines of a UTF-8 or cp932 byte stream (``\\r\\n``, ``\\n`` or ``\\r`` endings), decoded one by one."""
    number = 0
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    for chunk in stream:
        for raw in chunk.splitlines(keepends=True):  # a lone \r (old Mac files) ends a line too
            number += 1
            if number == 1 and encoding == "utf-8-sig" and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            yield Line(number, raw, raw.decode(codec, errors="surrogateescape"))


def text_lines(text: Iterable[str]) -> Iterator[Line]:
    """Physical lines of an already decoded text stream (UTF-16 files)."""
    for number, line in enumerate(text, start=1):
        yield Line(number, None, line)


class RowReader:
    """Logical rows (or ``BrokenRow``) of ``lines`` with ``delimiter``; the header row is read first."""

    def __init__(self, lines: Iterator[Line], delimiter: str) -> None:
        self._lines = lines
        self._pending: deque[Line] = deque()
        self.delimiter = delimiter
        self.fields: list[str | None] = []  # the column of each cell, set by the caller after the header

    def _next_line(self) -> Line | None:
        if self._pending:
            return self._pending.popleft()
        return next(self._lines, None)

    def read(self) -> Row | BrokenRow | None:
        """The next logical row, a broken one, or ``None`` at the end of the file."""
        consumed: list[Line] = []

        def feed() -> Iterator[str]:
            while len(consumed) <= MAX_ROW_LINES:
                line = self._next_line()
                if line is None:
                    return
                consumed.append(line)
                yield line.text

        reader = csv.reader(feed(), delimiter=self.delimiter)
        try:
            cells = next(reader)
        except StopIteration:
            if not consumed:
                return None
            cells = None  # the limit of lines was reached inside one cell
        except csv.Error:
            cells = None  # e.g. a cell larger than the field size limit
        if cells is not None and len(consumed) == 1:
            return Row(cells, consumed)
        reason = "too-long" if cells is None or len(consumed) > MAX_ROW_LINES else self._judge(cells, consumed)
        if reason is None:
            return Row(cells, consumed)
        self._pending.extendleft(reversed(consumed[1:]))  # read the swallowed lines again, as rows
        return BrokenRow(consumed[0].number, consumed[-1].number, reason)

    def _judge(self, cells: list[str], lines: list[Line]) -> str | None:
        """Why a row spanning several lines is broken, or ``None`` when it is a real multi-line cell."""
        if sum(line.text.count('"') for line in lines) % 2:
            return "unbalanced-quote"
        for index, cell in enumerate(cells):
            field = self.fields[index] if index < len(self.fields) else None
            if ("\n" in cell or "\r" in cell) and field not in MULTILINE_FIELDS:
                return "line-break"
        width = len(self.fields)
        if width >= 4 and any(line.text.count(self.delimiter) >= width - 1 for line in lines[1:]):
            return "swallowed-row"
        return None


REASONS: dict[str, tuple[str, str]] = {
    "unbalanced-quote": (
        "引用符（\"）の数が合いません。閉じていない引用符があるため、{start}行目から{end}行目までを一つの行として読むところでした。"
        "この行は取り込まず、次の行から読み直しました。引用符を閉じるか外してください。",
        "The quotes (\") do not balance: an unclosed quote would have made lines {start}–{end} one row. "
        "This row was not imported and reading went on from the next line; close or remove the quote.",
    ),
    "line-break": (
        "引用符（\"）の閉じ忘れのため、改行を含められない列に{start}行目から{end}行目までが入るところでした。"
        "この行は取り込まず、次の行から読み直しました。",
        "An unclosed quote (\") would have put lines {start}–{end} into a one-line column. "
        "This row was not imported and reading went on from the next line.",
    ),
    "swallowed-row": (
        "引用符（\"）の閉じ忘れのため、{start}行目から{end}行目までのほかの行が一つのセルに入るところでした。"
        "この行は取り込まず、次の行から読み直しました。",
        "An unclosed quote (\") would have swallowed the rows on lines {start}–{end} into one cell. "
        "This row was not imported and reading went on from the next line.",
    ),
    "too-long": (
        f"引用符（\"）が閉じられないまま{MAX_ROW_LINES}行を超えたか、セルが大きすぎます。この行は取り込まず、次の行から読み直しました。",
        f"A quote (\") stays open for more than {MAX_ROW_LINES} lines, or a cell is too large. "
        "This row was not imported and reading went on from the next line.",
    ),
}


def broken_reason(broken: BrokenRow) -> tuple[str, str]:
    """The Japanese and English reasons for rejecting ``broken``."""
    ja, en = REASONS[broken.reason]
    return ja.format(start=broken.start, end=broken.end), en.format(start=broken.start, end=broken.end)


def encoding_problem(raw: bytes | None, text: str, encoding: str) -> tuple[str, str] | None:
    """Why a row's bytes do not fit the file's encoding, or ``None`` when they do.

    Distinguishes a UTF-8 row in a Shift_JIS file (which cp932 would otherwise read, without any error,
    as nonsense kanji), a Shift_JIS row in a UTF-8 file, bytes that are neither, and Shift_JIS 外字
    (user-defined characters, decoded to the private use area, which no other computer shows the same).
    """
    shown = "UTF-8" if encoding.startswith("utf") else "Shift_JIS (cp932)"
    has_escapes = any("\udc80" <= ch <= "\udcff" for ch in text)
    if raw is not None and encoding == "cp932" and not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return ("この行は UTF-8 で書かれていますが、ファイルの他の行は Shift_JIS（cp932）です。このまま読むと文字化けするため取り込みませんでした。"
                    "ファイル全体を UTF-8 で保存し直してください。",
                    "This row is UTF-8 while the file is Shift_JIS (cp932); read as Shift_JIS it would be garbled, so it was not imported. "
                    "Save the whole file again as UTF-8.")
    if has_escapes:
        other = "cp932" if encoding.startswith("utf") else "utf-8"
        if raw is not None and _decodes(raw, other):
            other_shown = "Shift_JIS (cp932)" if other == "cp932" else "UTF-8"
            return (f"この行は {other_shown} で書かれていますが、ファイルの他の行は {shown} です（文字コードが混在しています）。"
                    "ファイル全体を UTF-8 で保存し直してください。",
                    f"This row is {other_shown} while the file is {shown}: the file mixes encodings. Save the whole file again as UTF-8.")
        return (f"この行に {shown} として読めないバイトがあります（ファイルが壊れているか、{shown} にない文字です）。"
                "ファイル全体を UTF-8 で保存し直してください。",
                f"This row has bytes that are not valid {shown}, the file's encoding (a damaged file, or a character {shown} lacks). "
                "Save the whole file again as UTF-8.")
    if encoding == "cp932" and any("\ue000" <= ch <= "\uf8ff" for ch in text):
        return ("この行に外字（利用者定義文字）があります。外字は他のコンピューターでは正しく表示されないため取り込みませんでした。"
                "通常の文字に置き換えてください。",
                "This row holds Shift_JIS user-defined characters (gaiji), which other computers cannot show; "
                "it was not imported. Replace them with standard characters.")
    return None


def _decodes(raw: bytes, encoding: str) -> bool:
    """Whether ``raw`` reads as text in ``encoding`` (for cp932: without 外字, which stray bytes such as 0xFF become)."""
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        return False
    return encoding != "cp932" or not any("\ue000" <= ch <= "\uf8ff" for ch in text)
