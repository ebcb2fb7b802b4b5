"""Dates, times and spans written as people read them, in one place (Jinja filters for every template).

Japanese: 「12月20日（日）」, 「12月9日（水）1:51」, optionally with the era (令和8年12月20日（日）) where a
library sets ``ELIBRARY_JAPANESE_ERA``. English: "Sun 20 Dec", "9 Dec 01:51", "about 1 day". Never ISO.
The year is shown only when it is not this year. Times are Japan time.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from flask import Flask, current_app, has_app_context

from elibrary.web.i18n import current_locale

TOKYO = timezone(timedelta(hours=9))
WEEKDAYS_JA = "月火水木金土日"
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
REIWA_START = date(2019, 5, 1)


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(TOKYO)


def japanese_year(day: date, era: bool = False) -> str:
    """「2026年」, or with ``era`` 「令和8年」 (元年 for the first)."""
    if era and day >= REIWA_START:
        number = day.year - 2018
        return f"令和{'元' if number == 1 else number}年"
    return f"{day.year}年"


def format_day(day: date | datetime | None, locale: str = "ja", *, era: bool = False, today: date | None = None,
               weekday: bool = True) -> str:
    """A calendar day: 「12月20日（日）」 / "Sun 20 Dec" (with the year when it is not this year)."""
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = _local(day).date()
    today = today or datetime.now(TOKYO).date()
    with_year = day.year != today.year or era
    if locale == "en":
        text = f"{day.day} {MONTHS_EN[day.month - 1]}" + (f" {day.year}" if with_year else "")
        return f"{WEEKDAYS_EN[day.weekday()]} {text}" if weekday else text
    text = (japanese_year(day, era) if with_year else "") + f"{day.month}月{day.day}日"
    return f"{text}（{WEEKDAYS_JA[day.weekday()]}）" if weekday else text


def format_moment(moment: datetime | None, locale: str = "ja", *, era: bool = False, today: date | None = None) -> str:
    """A day and a time: 「12月9日（水）1:51」 / "9 Dec 01:51"."""
    if moment is None:
        return ""
    local = _local(moment)
    if locale == "en":
        return f"{format_day(local.date(), 'en', era=era, today=today, weekday=False)} {local:%H:%M}"
    return f"{format_day(local.date(), 'ja', era=era, today=today)}{local.hour}:{local:%M}"


def format_exact(moment: datetime | None, locale: str = "ja", *, era: bool = False) -> str:
    """A moment to the second, with the year (the access log): 「2026年12月5日（土）21:04:33」 / "Sat 5 Dec 2026 21:04:33"."""
    if moment is None:
        return ""
    local = _local(moment)
    far = date(1, 1, 1)
    if locale == "en":
        return f"{format_day(local.date(), 'en', today=far)} {local:%H:%M:%S}"
    return f"{format_day(local.date(), 'ja', era=era, today=far)}{local:%H:%M:%S}"


def format_span(span: timedelta | None, locale: str = "ja") -> str:
    """A rough length: 「約3日」 / "about 3 days" (hours under a day)."""
    if span is None:
        return ""
    hours = max(1, -(-int(span.total_seconds()) // 3600))
    if hours < 24:
        return f"約{hours}時間" if locale != "en" else f"about {hours} hour{'s' if hours != 1 else ''}"
    days = -(-hours // 24)
    return f"約{days}日" if locale != "en" else f"about {days} day{'s' if days != 1 else ''}"


def format_day_range(low: int, high: int, locale: str = "ja") -> str:
    """「1〜14日」 / "1 to 14 days" (one number when they agree)."""
    if low >= high:
        return f"約{high}日" if locale != "en" else f"about {high} day{'s' if high != 1 else ''}"
    return f"{low}〜{high}日" if locale != "en" else f"{low} to {high} days"


def _era() -> bool:
    return bool(has_app_context() and current_app.config.get("ELIBRARY_JAPANESE_ERA"))


def init_app(app: Flask) -> None:
    """Register the filters ``day``, ``when``, ``when_exact``, ``span``, ``paren`` (brackets of the language) and ``day_range``."""
    app.jinja_env.filters["day"] = lambda value, weekday=True: format_day(value, current_locale(), era=_era(), weekday=weekday)
    app.jinja_env.filters["when"] = lambda value: format_moment(value, current_locale(), era=_era())
    app.jinja_env.filters["paren"] = lambda value: f" ({value})" if current_locale() == "en" else f"（{value}）"
    app.jinja_env.filters["when_exact"] = lambda value: format_exact(value, current_locale(), era=_era())
    app.jinja_env.filters["span"] = lambda value: format_span(value, current_locale())
    app.jinja_env.globals["day_range"] = lambda low, high: format_day_range(low, high, current_locale())
