"""The nightly roll-up: each finished month's events counted once per breakdown value (``stats_month_counts``).

Reports of event counts read the rolled-up months and count only the days not rolled up yet (this month,
the edges of a custom range) from ``lending_events``. Unique borrowers cannot be added up month by month, so the
roll-up also keeps each 年度's borrowers once per breakdown value (``stats_year_patrons``, with a bit for each
month they were seen in) and each month's unique borrowers by value (``stats_month_patrons``): a 年度 or a range
of months is counted from those rows, and only the days not rolled up yet from the events. Ages are rolled up as
exact ages, so the library's bands still apply at report time.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import String, cast, delete, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from elibrary.lending.models import LendingEvent
from elibrary.stats.models import MonthCount, MonthPatrons, RolledMonth, YearPatron
from elibrary.stats.periods import fiscal_year_of, month_end

e = LendingEvent
DIMS = {
    "none": literal(""), "category": e.category, "age": func.coalesce(cast(e.age, String), ""), "school": e.school, "grade": e.grade,
    "ndc": func.substr(e.ndc, 1, 1), "ndc2": func.substr(e.ndc, 1, 2), "audience": e.audience, "license": e.license_model,
    "format": e.format, "hour": func.coalesce(cast(e.hour, String), ""), "weekday": func.coalesce(cast(e.weekday, String), ""),
    "channel": e.channel,
}
PATRON_DIMS = ("none", "category", "age", "school", "grade")  # distinct borrowers are counted for these
YEAR_PATRON_KINDS = ("borrow",)  # the kinds unique borrowers are counted of (kept per 年度 in ``stats_year_patrons``)


def month_bit(month: str) -> int:
    """The bit of a ``YYYY-MM`` month in ``YearPatron.months`` (April = 1, March = 2048)."""
    return 1 << ((int(month[5:]) - 4) % 12)


def roll_up_month(session: Session, first: date, today: date) -> None:
    """(Re)count one month: one INSERT … SELECT per breakdown (``today``: the Japan-time day it is done)."""
    key = f"{first.year:04d}-{first.month:02d}"
    again = session.scalar(select(RolledMonth.month).where(RolledMonth.month == key)) is not None
    session.execute(delete(MonthCount).where(MonthCount.month == key))
    session.execute(delete(RolledMonth).where(RolledMonth.month == key))
    last = month_end(first)
    _year_patrons(session, first, last, again)
    for dim, expr in DIMS.items():
        value = expr.label("value")
        patrons = func.count(func.distinct(e.borrower_key)) if dim in PATRON_DIMS else literal(0)
        rows = (select(literal(key), e.kind, e.from_hold, literal(dim), value, func.count(), patrons)
                .where(e.occurred_on >= first, e.occurred_on <= last).group_by(e.kind, e.from_hold, value))
        session.execute(insert(MonthCount).from_select(["month", "kind", "from_hold", "dim", "value", "events", "patrons"], rows))
    session.add(RolledMonth(month=key, built_at=datetime.combine(today, time(12), tzinfo=timezone.utc)))
    session.flush()


def _year_patrons(session: Session, first: date, last: date, again: bool) -> None:
    """Mark the month's bit on each (borrower, value) of its 年度, once per breakdown (``again``: clear it first)."""
    y, year, bit = YearPatron, fiscal_year_of(first), month_bit(f"{first.year:04d}-{first.month:02d}")
    if again:
        session.execute(update(y).where(y.fiscal_year == year, y.months.op("&")(bit) != 0).values(months=y.months - bit))
        session.execute(delete(y).where(y.fiscal_year == year, y.months == 0))
    make_insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    for dim, expr in DIMS.items():
        value = expr.label("value")
        rows = (select(literal(year), e.kind, literal(dim), value, e.school, e.borrower_key, literal(bit))
                .where(e.occurred_on >= first, e.occurred_on <= last, e.kind.in_(YEAR_PATRON_KINDS), e.borrower_key.is_not(None))
                .group_by(e.kind, value, e.school, e.borrower_key))
        stmt = make_insert(y).from_select(["fiscal_year", "kind", "dim", "value", "school", "borrower_key", "months"], rows)
        session.execute(stmt.on_conflict_do_update(index_elements=["fiscal_year", "kind", "dim", "value", "school", "borrower_key"],
                                                   set_={"months": y.months.op("|")(bit)}))
    key = f"{first.year:04d}-{first.month:02d}"
    session.execute(delete(MonthPatrons).where(MonthPatrons.month == key))
    for pupils in (False, True):
        rows = (select(literal(key), y.kind, y.dim, y.value, literal(pupils), func.count(func.distinct(y.borrower_key)))
                .where(y.fiscal_year == year, y.months.op("&")(bit) != 0, *([y.school != ""] if pupils else []))
                .group_by(y.kind, y.dim, y.value))
        session.execute(insert(MonthPatrons).from_select(["month", "kind", "dim", "value", "pupils", "patrons"], rows))


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
