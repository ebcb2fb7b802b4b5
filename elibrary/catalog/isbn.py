"""ISBN (国際標準図書番号): parsing, check digits, ISBN-10 → ISBN-13, hyphenated display.

Titles store the ISBN-13 as 13 digits. Input may come hyphenated, with spaces, in full-width digits
(``９７８－４…``), as ISBN-10 (with an ``X`` check digit) or prefixed with ``ISBN``.
"""
from __future__ import annotations

import re
import unicodedata

from elibrary.errors import InvalidInput

# Hyphen-like characters people type or paste between the groups (after NFKC folding).
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−ー_]+")

# Registrant (publisher) ranges of the Japanese group 978-4, from the International ISBN Agency's table.
_JAPAN_RANGES = (
    (0, 19, 2),
    (200, 699, 3),
    (7000, 8499, 4),
    (85000, 89999, 5),
    (900000, 949999, 6),
    (9500000, 9999999, 7),
)


class InvalidISBN(InvalidInput):
    """An ISBN that is malformed or whose check digit is wrong."""

    code = "invalid-isbn"
    message_ja = "ISBNの形式が正しくありません。"
    message_en = "The ISBN is not valid."


def _fail(value: str, reason_ja: str, reason_en: str) -> InvalidISBN:
    shown = value if len(value) <= 40 else value[:40] + "…"
    return InvalidISBN(f"ISBN「{shown}」は正しくありません（{reason_ja}）。", f"ISBN {shown!r} is not valid ({reason_en}).", field="isbn")


def check_digit_13(first12: str) -> str:
    """The ISBN-13 (EAN-13) check digit of 12 digits."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def check_digit_10(first9: str) -> str:
    """The ISBN-10 check digit (``0``–``9`` or ``X``) of 9 digits."""
    total = sum(int(d) * (10 - i) for i, d in enumerate(first9))
    value = (11 - total % 11) % 11
    return "X" if value == 10 else str(value)


def _compact(value: str) -> str:
    text = unicodedata.normalize("NFKC", value).strip().upper()
    text = re.sub(r"^ISBN(-1[03])?:?", "", text).strip()
    return _SEPARATORS.sub("", text)


def normalize_isbn(value: str) -> str:
    """The ISBN-13 digits of ``value`` (ISBN-10 converted); raises ``InvalidISBN`` when malformed."""
    if not isinstance(value, str):
        raise _fail(str(value), "文字列ではありません", "not text")
    digits = _compact(value)
    if len(digits) == 13:
        if not digits.isdigit():
            raise _fail(value, "数字以外の文字が含まれています", "contains characters other than digits")
        if not digits.startswith(("978", "979")):
            raise _fail(value, "978 または 979 で始まる必要があります", "must start with 978 or 979")
        if check_digit_13(digits[:12]) != digits[12]:
            raise _fail(value, "チェックディジットが一致しません", "check digit mismatch")
        return digits
    if len(digits) == 10:
        if not (digits[:9].isdigit() and (digits[9].isdigit() or digits[9] == "X")):
            raise _fail(value, "数字以外の文字が含まれています", "contains characters other than digits")
        if check_digit_10(digits[:9]) != digits[9]:
            raise _fail(value, "チェックディジットが一致しません", "check digit mismatch")
        return isbn10_to_13(digits)
    raise _fail(value, "桁数は10桁または13桁です", "must have 10 or 13 digits")


def parse_optional_isbn(value: str | None) -> str | None:
    """``normalize_isbn`` for optional form fields: blank means no ISBN."""
    if value is None or not _compact(value):
        return None
    return normalize_isbn(value)


def is_valid_isbn(value: str) -> bool:
    """Whether ``value`` is a well-formed ISBN-10 or ISBN-13."""
    try:
        normalize_isbn(value)
    except InvalidISBN:
        return False
    return True


def isbn10_to_13(isbn10: str) -> str:
    """Convert 10 ISBN characters (check digit included) to ISBN-13 digits."""
    first12 = "978" + isbn10[:9]
    return first12 + check_digit_13(first12)


def isbn13_to_10(isbn13: str) -> str | None:
    """The ISBN-10 form of a 978 ISBN-13, or ``None`` for 979 numbers (they have none)."""
    if not isbn13.startswith("978"):
        return None
    return isbn13[3:12] + check_digit_10(isbn13[3:12])


def make_isbn13(first12: str) -> str:
    """Complete 12 digits with their check digit (used to build demo and test ISBNs)."""
    if len(first12) != 12 or not first12.isdigit():
        raise ValueError("12 digits expected")
    return first12 + check_digit_13(first12)


def format_isbn(isbn13: str) -> str:
    """Hyphenated display form: ``978-4-10-101001-3`` for Japanese numbers, ``978-1234567890``-like otherwise."""
    if len(isbn13) != 13 or not isbn13.isdigit():
        return isbn13
    prefix, rest, check = isbn13[:3], isbn13[3:12], isbn13[12]
    if prefix == "978" and rest[0] == "4":
        body = rest[1:]  # 8 digits: registrant + publication
        for low, high, length in _JAPAN_RANGES:
            if low <= int(body[:length]) <= high:
                return f"{prefix}-4-{body[:length]}-{body[length:]}-{check}"
    return f"{prefix}-{rest}-{check}"
