"""Readings (ヨミ) found in sources: kept when they are kana, dropped when they are something else.

Sources put sort keys where readings go (a ``collationkey`` of "Smith, Jane", an 880 field in Latin
script); a wrong reading is worse than none, so only text the catalog accepts as a reading is kept.
"""
from __future__ import annotations

from elibrary.catalog.readings import normalize_reading
from elibrary.errors import InvalidInput


def kana_reading(value: str | None) -> str:
    """The katakana reading of ``value`` (hiragana converted), or ``""`` when it is not one."""
    if not value or not value.strip():
        return ""
    try:
        return normalize_reading(value)
    except InvalidInput:
        return ""


def has_kana(value: str) -> bool:
    """Whether ``value`` contains hiragana or katakana (tells a reading from a romanised sort key)."""
    return any("\u3040" <= ch <= "\u30ff" for ch in value)
