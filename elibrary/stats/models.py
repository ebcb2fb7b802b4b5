"""Statistics' own tables: library settings (age bands, small-cell threshold, report recipients) and registrations."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from elibrary.db import Base, UTCDateTime, utcnow


class StatsSetting(Base):
    """A statistics setting the library changes on the settings page (JSON value)."""

    __tablename__ = "stats_settings"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[dict | list | int | str] = mapped_column(JSON)


class RegistrationEvent(Base):
    """A new patron (full, provisional, or provisional confirmed at the counter): category and age, never who."""

    __tablename__ = "stats_registrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_on: Mapped[date] = mapped_column(Date, index=True)  # Japan time
    kind: Mapped[str] = mapped_column(String(12))  # full, provisional, confirmed
    category: Mapped[str] = mapped_column(String(40), default="")
    age: Mapped[int | None] = mapped_column(SmallInteger)


class MonthCount(Base):
    """Events of one month by one breakdown (``dim``) and value: the nightly roll-up reports read instead of every event."""

    __tablename__ = "stats_month_counts"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM (Japan time)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    from_hold: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    dim: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(40), primary_key=True)
    events: Mapped[int] = mapped_column(Integer, default=0)
    patrons: Mapped[int] = mapped_column(Integer, default=0)  # distinct borrowers (dims none, category, age, school, grade)


class RolledMonth(Base):
    """A month whose events are in ``stats_month_counts`` (a month without events is rolled up too)."""

    __tablename__ = "stats_rolled_months"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class YearPatron(Base):
    """A borrower seen in a 年度 with one breakdown value, and the months (bits, April = 1) they were seen in.

    Unique borrowers cannot be summed from monthly counts; a 年度 or a range of months is counted from these rows
    (one per borrower and value, not per event). ``borrower_key`` is the per-年度 pseudonym the events carry, so a
    row never links two years; the rows of a 年度 are built by the nightly roll-up from ``lending_events``.
    """

    __tablename__ = "stats_year_patrons"
    __table_args__ = {"sqlite_with_rowid": False}

    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    dim: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(40), primary_key=True)
    school: Mapped[str] = mapped_column(String(40), primary_key=True)
    borrower_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    months: Mapped[int] = mapped_column(Integer, default=0)  # bit n: the n-th month of the 年度 (April = bit 0)


class MonthPatrons(Base):
    """Unique borrowers of one rolled-up month by breakdown value (``pupils``: only loans by pupils of a school).

    Counted from ``stats_year_patrons`` by the roll-up, so the month columns of a report of unique borrowers read
    one row per value; ages are exact ages here (a borrower with a birthday that month is in two), so a report
    by age band counts its months from ``stats_year_patrons`` instead.
    """

    __tablename__ = "stats_month_patrons"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM (Japan time)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    dim: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(40), primary_key=True)
    pupils: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    patrons: Mapped[int] = mapped_column(Integer, default=0)
