"""Yen, consumption tax and the fiscal year (年度): pure functions, integer arithmetic only.

Consumption tax is computed once per order and per rate (10% and the reduced 8%) on the sum of that
rate's lines, never per line, and rounded by the city's rule (``ELIBRARY_TAX_ROUNDING``):
``floor`` 切り捨て, ``half-up`` 四捨五入 or ``ceil`` 切り上げ.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from elibrary.errors import InvalidInput

TAX_RATES = (10, 8)
ROUNDING = {"floor": "切り捨て", "half-up": "四捨五入", "ceil": "切り上げ"}
REIWA_FIRST_YEAR = 2019  # 令和元年度 begins in April 2019

_YEN = re.compile(r"^(?P<amount>\d+(?:\.\d+)?)$")
_INCLUDED = ("税込", "込", "税込み", "内税", "tax incl", "incl")
_EXCLUDED = ("税抜", "税別", "抜", "外税", "本体", "tax excl", "excl")


@dataclass(frozen=True)
class Yen:
    """A price as read from a file: whole yen and whether the text said tax was included (None: it did not say)."""

    amount: int
    tax_included: bool | None


def parse_yen(text: str | None) -> Yen | None:
    """Read "¥1,320（税込）", "１３２０円", "1320.00" or "1,200 税抜"; None when empty. Raises on anything else."""
    if text is None or not text.strip():
        return None
    folded = unicodedata.normalize("NFKC", text).strip().lower()
    included = any(word in folded for word in _INCLUDED)
    excluded = any(word in folded for word in _EXCLUDED) and not included
    core = re.sub(r"[()\[\]（）【】]|税込み?|税抜き?|税別|内税|外税|本体|価格|tax|incl\w*|excl\w*|jpy|円|¥|\\|,|\s", "", folded)
    match = _YEN.match(core)
    if not match:
        raise InvalidInput(f"金額「{text[:40]}」を読み取れません。数字（例: 1320）で入力してください。",
                           f"The amount {text[:40]!r} cannot be read; write it in digits (e.g. 1320).", field="price")
    value = match.group("amount")
    whole, _, fraction = value.partition(".")
    if fraction.strip("0"):
        raise InvalidInput(f"金額「{text[:40]}」に1円未満の端数があります。", f"The amount {text[:40]!r} has a fraction of a yen.",
                           field="price")
    return Yen(int(whole), True if included else (False if excluded else None))


def round_tax(numerator: int, denominator: int, rule: str) -> int:
    """``numerator / denominator`` rounded by ``rule`` (non-negative amounts)."""
    if rule == "floor":
        return numerator // denominator
    if rule == "ceil":
        return -(-numerator // denominator)
    if rule == "half-up":
        return (2 * numerator + denominator) // (2 * denominator)
    raise InvalidInput(f"端数処理「{rule}」は使えません（floor / half-up / ceil）。",
                       f"Unknown tax rounding {rule!r} (floor, half-up or ceil).", field="ELIBRARY_TAX_ROUNDING")


def excluding_tax(amount_including: int, rate: int, rule: str) -> int:
    """The price before tax of a tax-included price (what the distributor would invoice)."""
    return amount_including - round_tax(amount_including * rate, 100 + rate, rule)


@dataclass(frozen=True)
class TaxSummary:
    """An order's totals: subtotal per rate (tax excluded), tax per rate, and the grand total."""

    subtotals: dict[int, int]
    taxes: dict[int, int]

    @property
    def subtotal(self) -> int:
        """All lines, tax excluded."""
        return sum(self.subtotals.values())

    @property
    def tax(self) -> int:
        """All consumption tax."""
        return sum(self.taxes.values())

    @property
    def total(self) -> int:
        """What the fund pays."""
        return self.subtotal + self.tax


def tax_summary(lines: Iterable[tuple[int, int]], rule: str) -> TaxSummary:
    """Totals of ``(amount excluding tax, rate)`` lines: the tax once per rate on that rate's sum."""
    subtotals: dict[int, int] = {}
    for amount, rate in lines:
        if rate not in TAX_RATES:
            raise InvalidInput(f"税率 {rate}% は使えません（10% または 8%）。", f"Tax rate {rate}% is not one of 10% or 8%.", field="tax_rate")
        subtotals[rate] = subtotals.get(rate, 0) + amount
    taxes = {rate: round_tax(amount * rate, 100, rule) for rate, amount in subtotals.items()}
    return TaxSummary(subtotals, taxes)


def fiscal_year_of(day: date) -> int:
    """The 年度 a day belongs to, named by the calendar year of its April (2027-03-31 → 2026)."""
    return day.year if day.month >= 4 else day.year - 1


def fiscal_year_label(year: int, locale: str = "ja") -> str:
    """令和9年度 (2027), 令和元年度 (2019); "FY2027" in English."""
    if locale == "en":
        return f"FY{year}"
    if year < REIWA_FIRST_YEAR:
        return f"平成{year - 1988}年度"
    number = year - REIWA_FIRST_YEAR + 1
    return f"令和{'元' if number == 1 else number}年度"


def yen(amount: int | None) -> str:
    """¥1,320 for display; "—" for an unknown price."""
    return "—" if amount is None else f"¥{amount:,}"


def tax_rounding(settings) -> str:
    """The city's rounding rule for consumption tax (``ELIBRARY_TAX_ROUNDING``)."""
    return str(settings.get("ELIBRARY_TAX_ROUNDING") or "floor")
