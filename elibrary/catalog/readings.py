"""Readings (ヨミ): the katakana form libraries file titles and names under."""
from __future__ import annotations

import re
import unicodedata

import jaconv

from elibrary.errors import InvalidInput

# Katakana (incl. ヴ, small kana, ヵヶ), the long-vowel mark, the middle dot, Latin letters and digits
# (readings keep "ABC" or "2" as written), spaces and the punctuation that appears in titles.
_ALLOWED = re.compile(r"^[\u30a0-\u30ff\u31f0-\u31ffA-Za-z0-9 ・ー、。,.:;!?'\"&()\-/=]*$")
_SPACES = re.compile(r"\s+")


def normalize_reading(value: str | None, *, field: str = "reading", label: str = "ヨミ") -> str:
    """Katakana reading: NFKC, hiragana → katakana, spaces collapsed; other scripts are refused.

    Raises ``InvalidInput`` naming ``field`` when the reading contains kanji or other scripts.
    """
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", value)
    text = jaconv.hira2kata(text)
    text = _SPACES.sub(" ", text).strip()
    if not _ALLOWED.match(text):
        bad = "".join(sorted({ch for ch in text if not _ALLOWED.match(ch)}))[:10]
        raise InvalidInput(
            f"{label}はカタカナ（またはひらがな）で入力してください。使えない文字: {bad}",
            f"The reading must be in katakana (or hiragana). Not allowed: {bad}",
            field=field,
        )
    return text
