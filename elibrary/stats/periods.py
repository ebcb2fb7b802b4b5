"""Periods of a report: a month, a 年度 (April–March, Japan time), or a custom range; 令和 labels."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from elibrary.errors import InvalidInput

MAX_DAYS = 366 * 5 + 1


def reiwa(year: int) -> str:
    """令和 of a Western year (2019 = 令和元年)."""
    n = year - 2018
    return "令和元" if n == 1 else f"令和{n}"


def fiscal_label(year: int) -> str:
    """「令和8年度（2026年度）」 for the 年度 starting in April ``year``."""
    return f"{reiwa(year)}年度（{year}年度）"


def fiscal_year_of(day: date) -> int:
    """The 年度 a date belongs to (31 March 2027 → 2026)."""
    return day.year if day.month >= 4 else day.year - 1


def month_end(first: date) -> date:
    """The last day of ``first``'s month."""
    following = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return following - timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """Days ``start``..``end`` (inclusive) and how people name them."""

    start: date
    end: date
    label: str
    kind: str = "custom"  # month, year, custom

    def months(self) -> list[str]:
        """The months the period touches, as ``YYYY-MM``."""
        found, day = [], self.start.replace(day=1)
        while day <= self.end:
            found.append(f"{day.year:04d}-{day.month:02d}")
            day = month_end(day) + timedelta(days=1)
        return found

    def year_earlier(self) -> "Period":
        """The same days a year earlier (29 February becomes the 28th)."""
        def back(d: date) -> date:
            try:
                return d.replace(year=d.year - 1)
            except ValueError:
                return d.replace(year=d.year - 1, day=28)
        kind_label = {"month": f"{back(self.start).year}年{self.start.month}月", "year": fiscal_label(self.start.year - 1)}
        return Period(back(self.start), back(self.end), kind_label.get(self.kind, f"{back(self.start)}〜{back(self.end)}"), self.kind)


def month_period(year: int, month: int) -> Period:
    """One calendar month."""
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        raise InvalidInput("月の指定が正しくありません。", "That month does not exist.", field="month")
    first = date(year, month, 1)
    return Period(first, month_end(first), f"{reiwa(year)}年{month}月（{year}年{month}月）", "month")


def fiscal_period(year: int) -> Period:
    """The 年度 starting in April ``year``: 1 April ``year`` – 31 March ``year + 1``."""
    if not 2000 <= year <= 2100:
        raise InvalidInput("年度の指定が正しくありません。", "That 年度 does not exist.", field="year")
    return Period(date(year, 4, 1), date(year + 1, 3, 31), fiscal_label(year), "year")


def custom_period(start: date, end: date) -> Period:
    """Any range of days; one that ends before it starts is refused."""
    if end < start:
        raise InvalidInput(f"期間の終わり（{end}）が始まり（{start}）より前になっています。",
                           f"The period ends ({end}) before it starts ({start}).", field="end")
    if (end - start).days > MAX_DAYS:
        raise InvalidInput("期間は5年以内にしてください。", "The period may be at most five years.", field="end")
    return Period(start, end, f"{start.isoformat()}〜{end.isoformat()}", "custom")
