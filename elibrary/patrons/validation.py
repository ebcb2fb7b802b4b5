"""Checking what people type into the registration form, the way Japanese users expect.

Full-width and half-width letters and digits are both accepted (folded with NFKC, which also turns
half-width katakana into full-width); hiragana in the furigana field becomes katakana; postal codes
may be written 〒１２３－４５６７ or 1234567. Markup and control characters are refused outright.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import jaconv

FIELDS = ("name", "kana", "birth_date", "postal_code", "address", "phone", "email")
DEFAULT_REQUIRED = ("name", "kana", "birth_date", "postal_code", "address", "email")
LABELS = {
    "name": ("氏名", "Name"),
    "kana": ("フリガナ", "Name in katakana"),
    "birth_date": ("生年月日", "Date of birth"),
    "postal_code": ("郵便番号", "Postal code"),
    "address": ("住所", "Address"),
    "phone": ("電話番号", "Phone number"),
    "email": ("メールアドレス", "E-mail address"),
}
HYPHENS = "-‐‑‒–—―−ｰー－"
NAME_PUNCTUATION = set(" ・.'-々〆ヶ")
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


@dataclass(frozen=True)
class FieldError:
    """One problem with one field, in both languages."""

    field: str
    message_ja: str
    message_en: str


def _fold(value: str) -> str:
    folded = unicodedata.normalize("NFKC", value or "")
    return re.sub(r"\s+", " ", folded).strip()


def _has_markup_or_controls(value: str) -> bool:
    return any(ch in "<>\"`{}\\" or unicodedata.category(ch) in ("Cc", "Cf") for ch in value)


def normalize_name(value: str) -> str:
    """A personal name: letters of any script, spaces and a few name marks (・ 々 ー ' - .)."""
    name = _fold(value)
    if _has_markup_or_controls(name) or len(name) > 100:
        raise ValueError
    if not all(unicodedata.category(ch)[0] in "LM" or ch in NAME_PUNCTUATION or ch == "ー" for ch in name):
        raise ValueError
    return name


def normalize_kana(value: str) -> str:
    """Furigana in full-width katakana (hiragana and half-width katakana are converted)."""
    kana = jaconv.hira2kata(_fold(value)).replace("　", " ")
    if not kana or len(kana) > 100 or not all(("ァ" <= ch <= "ヺ") or ch in "ー・ ヽヾ" for ch in kana):
        raise ValueError
    return kana


def normalize_postal_code(value: str) -> str:
    """``123-4567`` from 〒１２３－４５６７, 1234567, 123 4567 ..."""
    raw = _fold(value).replace("〒", "").replace(" ", "")
    raw = "".join("-" if ch in HYPHENS else ch for ch in raw)
    match = re.fullmatch(r"(\d{3})-?(\d{4})", raw)
    if not match:
        raise ValueError
    return f"{match.group(1)}-{match.group(2)}"


def normalize_phone(value: str) -> str:
    """Digits and hyphens, 10 or 11 digits (landline or mobile), starting with 0."""
    raw = "".join("-" if ch in HYPHENS else ch for ch in _fold(value).replace(" ", "").replace("(", "-").replace(")", "-"))
    digits = raw.replace("-", "")
    if not digits.isdigit() or not 10 <= len(digits) <= 11 or not digits.startswith("0") or "--" in raw:
        raise ValueError
    return raw.strip("-")


def normalize_email(value: str) -> str:
    """Trimmed, full-width folded, domain lower-cased."""
    email = _fold(value).replace(" ", "")
    if len(email) > 254 or not EMAIL.match(email):
        raise ValueError
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalize_address(value: str) -> str:
    """Free text (prefecture to building), without markup."""
    address = _fold(value)
    if _has_markup_or_controls(address) or len(address) > 200 or len(address) < 4:
        raise ValueError
    return address


def parse_birth_date(value: str, today: date | None = None) -> str:
    """``YYYY-MM-DD`` from 2001-02-03, 2001/2/3 or 2001年2月3日; a real date in the past."""
    raw = _fold(value)
    match = re.fullmatch(r"(\d{4})\s*[-/年.]\s*(\d{1,2})\s*[-/月.]\s*(\d{1,2})\s*日?", raw)
    if not match:
        raise ValueError
    born = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    if born.year < 1900 or born > (today or date.today()):
        raise ValueError
    return born.isoformat()


NORMALIZERS = {
    "name": normalize_name,
    "kana": normalize_kana,
    "birth_date": parse_birth_date,
    "postal_code": normalize_postal_code,
    "address": normalize_address,
    "phone": normalize_phone,
    "email": normalize_email,
}
PROBLEMS = {
    "name": ("氏名に使えない文字が含まれています。", "The name contains characters that cannot be used."),
    "kana": ("フリガナはカタカナ（またはひらがな）で入力してください。", "Write the name reading in katakana (or hiragana)."),
    "birth_date": ("生年月日は 2001-04-01 のように入力してください。", "Enter the date of birth like 2001-04-01."),
    "postal_code": ("郵便番号は 123-4567 のように7桁で入力してください。", "Enter the 7-digit postal code like 123-4567."),
    "address": ("住所を正しく入力してください。", "Enter the address."),
    "phone": ("電話番号は 0 から始まる10桁または11桁で入力してください。", "Enter a 10 or 11 digit phone number starting with 0."),
    "email": ("メールアドレスの形式が正しくありません。", "That is not a valid e-mail address."),
}


def validate_registration(raw: Mapping[str, str], required: Iterable[str] = DEFAULT_REQUIRED) -> tuple[dict[str, str | None], list[FieldError]]:
    """Normalised values and the problems found (empty when the form is good)."""
    required = set(required) | {"name", "email"}  # a registration needs at least these two
    values: dict[str, str | None] = {}
    errors: list[FieldError] = []
    for field in FIELDS:
        text = (raw.get(field) or "").strip()
        if not text.strip("\u3000 "):
            values[field] = None
            if field in required:
                ja, en = LABELS[field]
                errors.append(FieldError(field, f"{ja}を入力してください。", f"{en} is required."))
            continue
        try:
            values[field] = NORMALIZERS[field](text)
        except ValueError:
            errors.append(FieldError(field, *PROBLEMS[field]))
    return values, errors
