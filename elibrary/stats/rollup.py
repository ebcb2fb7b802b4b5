"""The nightly roll-up: each finished month's events counted once per breakdown value (``stats_month_counts``).

Reports of event counts read the rolled-up months and count only the days not rolled up yet (this month,
the edges of a custom range) from ``lending_events``; unique borrowers and small cells, which need distinct
patrons, always read the events (through the covering index ``ix_lending_events_patrons``). Ages are rolled
up as exact ages, so the library's bands still apply at report time.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import String, cast, delete, func, insert, literal, select
from sqlalchemy.orm import Session

from elibrary.lending.models import LendingEvent
from elibrary.stats.models import MonthCount, RolledMonth
from elibrary.stats.periods import month_end

e = LendingEvent
DIMS = {
    "none": literal(""), "category": e.category, "age": func.coalesce(cast(e.age, String), ""), "school": e.school, "grade": e.grade,
    "ndc": func.substr(e.ndc, 1, 1), "ndc2": func.substr(e.ndc, 1, 2), "audience": e.audience, "license": e.license_model,
    "format": e.format, "hour": func.coalesce(cast(e.hour, String), ""), "weekday": func.coalesce(cast(e.weekday, String), ""),
    "channel": e.channel,
}
PATRON_DIMS = ("none", "category", "age", "school", "grade")  # distinct borrowers are counted for these


def roll_up_month(session: Session, first: date, today: date) -> None:
    """(Re)count one month: one INSERT … SELECT per breakdown (``today``: the Japan-time day it is done)."""
    key = f"{first.year:04d}-{first.month:02d}"
    session.execute(delete(MonthCount).where(MonthCount.month == key))
    session.execute(delete(RolledMonth).where(RolledMonth.month == key))
    last = month_end(first)
    for dim, expr in DIMS.items():
        value = expr.label("value")
        patrons = func.count(func.distinct(e.borrower_key)) if dim in PATRON_DIMS else literal(0)
        rows = (select(literal(key), e.kind, e.from_hold, literal(dim), value, func.count(), patrons)
                .where(e.occurred_on >= first, e.occurred_on <= last).group_by(e.kind, e.from_hold, value))
        session.execute(insert(MonthCount).from_select(["month", "kind", "from_hold", "dim", "value", "events", "patrons"], rows))
    session.add(RolledMonth(month=key, built_at=datetime.combine(today, time(12), tzinfo=timezone.utc)))
    session.flush()


def roll_up(session: Session, today: date) -> list[str]:
    """Roll up every finished month not rolled up since it ended; returns the months done."""
    earliest = session.scalar(select(func.min(e.occurred_on)))
    if earliest is None:
        return []
    rolled = {row.month: row.built_at for row in session.execute(select(RolledMonth.month, RolledMonth.built_at))}
    done, first = [], earliest.replace(day=1)
    this_month = today.replace(day=1)
    while first < this_month:
        key = f"{first.year:04d}-{first.month:02d}"
        built = rolled.get(key)
        if built is None or built.date() <= month_end(first):  # rolled up before the month was over: again
            roll_up_month(session, first, today)
            done.append(key)
        first = month_end(first) + timedelta(days=1)
    return done


def rolled_months(session: Session, start: date, end: date) -> set[str]:
    """The rolled-up months lying wholly inside ``start``..``end``."""
    keys = set(session.scalars(select(RolledMonth.month).where(RolledMonth.month >= f"{start.year:04d}-{start.month:02d}",
                                                               RolledMonth.month <= f"{end.year:04d}-{end.month:02d}")))
    inside = set()
    for key in keys:
        first = date(int(key[:4]), int(key[5:]), 1)
        if first >= start and month_end(first) <= end:
            inside.add(key)
    return inside
