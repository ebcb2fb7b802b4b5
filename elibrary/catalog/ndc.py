"""The Nippon Decimal Classification (日本十進分類法, NDC): top classes and validation of class numbers."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from elibrary.errors import InvalidInput


@dataclass(frozen=True)
class NDCClass:
    """One top class (類) of the NDC."""

    digit: str
    name_ja: str
    name_en: str

    def name(self, locale: str) -> str:
        """The name in ``locale`` ("ja" or "en")."""
        return self.name_en if locale == "en" else self.name_ja


TOP_CLASSES: dict[str, NDCClass] = {
    c.digit: c
    for c in (
        NDCClass("0", "総記", "General works"),
        NDCClass("1", "哲学", "Philosophy"),
        NDCClass("2", "歴史", "History"),
        NDCClass("3", "社会科学", "Social sciences"),
        NDCClass("4", "自然科学", "Natural sciences"),
        NDCClass("5", "技術", "Technology"),
        NDCClass("6", "産業", "Industry"),
        NDCClass("7", "芸術", "Arts"),
        NDCClass("8", "言語", "Language"),
        NDCClass("9", "文学", "Literature"),
    )
}

# Three digits (類・綱・目), optionally a decimal part: 913, 913.6, 007.64. Shorter forms (9, 91) are
# accepted for collections classified only to the class or division.
_NDC = re.compile(r"^\d{1,3}$|^\d{3}\.\d{1,6}$")


class InvalidNDC(InvalidInput):
    """A string that is not an NDC class number."""

    code = "invalid-ndc"
    message_ja = "NDC（日本十進分類法）の分類記号が正しくありません。"
    message_en = "The NDC class number is not valid."


def normalize_ndc(value: str | None) -> str:
    """The NDC number in canonical form (half-width, trimmed); ``""`` when blank; raises ``InvalidNDC``."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        return ""
    if not _NDC.match(text):
        shown = text if len(text) <= 20 else text[:20] + "…"
        raise InvalidNDC(
            f"NDC「{shown}」は正しくありません（例: 913.6）。",
            f"NDC {shown!r} is not valid (e.g. 913.6).",
            field="ndc",
        )
    return text


def top_class(ndc: str | None) -> NDCClass | None:
    """The top class (0–9) of an NDC number, or ``None`` when it has none."""
    if ndc and ndc[0].isdigit():
        return TOP_CLASSES[ndc[0]]
    return None
