"""Lending (貸出): licences bought from publishers, loans, holds (予約), patron-category policy,
library-wide settings and de-identified statistics.

Privacy (図書館の自由): a ``Loan`` or ``Hold`` row exists only while the loan or hold does. When it
ends the row is deleted; what remains is a ``LendingEvent`` without any patron id, and, only for a
patron who opted in, a ``ReadingHistoryEntry``.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from elibrary.db import Base, UTCDateTime, utcnow


class LicenseModel(str, enum.Enum):
    """Publishers' licence models, named as in ``elibrary licenses add --model``."""

    one_copy = "one-copy"  # ワンコピー・ワンユーザー
    concurrent = "concurrent"  # ワンコピー・マルチユーザー / class sets
    metered_loans = "metered-loans"  # a total number of loans, N at a time
    metered_time = "metered-time"  # valid until a date, N at a time
    open = "open"  # unlimited: public domain, free titles


class HoldState(str, enum.Enum):
    """Where a hold is in its life."""

    waiting = "waiting"
    ready = "ready"  # a copy is reserved for the patron until ``ready_until``
    suspended = "suspended"  # keeps its place, skipped until ``suspended_until``


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, values_callable=lambda e: [m.value for m in e], length=32)


class License(Base):
    """One licence the library bought for a title; a title may hold several."""

    __tablename__ = "licenses"

    id: Mapped[int] = mapped_column(primary_key=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), index=True)
    model: Mapped[LicenseModel] = mapped_column(_enum(LicenseModel, "license_model"))
    copies: Mapped[int | None] = mapped_column(Integer)  # simultaneous loans; None for open
    loans_total: Mapped[int | None] = mapped_column(Integer)  # loan cap, None when unlimited
    loans_remaining: Mapped[int | None] = mapped_column(Integer)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    max_loan_days: Mapped[int | None] = mapped_column(Integer)
    drm_free_download: Mapped[bool] = mapped_column(Boolean, default=False)
    classroom_display: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # 提示: may be shown on a classroom screen
    text_search: Mapped[bool | None] = mapped_column(Boolean, nullable=True)  # 本文検索; None: the default (on for open licences)
    note: Mapped[str] = mapped_column(String(200), default="")  # order number, vendor ...
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    touches_book_text = True  # licences decide whether the text may be searched (本文検索)

    @property
    def search_title_id(self) -> int:
        """Licence changes change the title's availability in the search index."""
        return self.title_id

    @property
    def is_open(self) -> bool:
        """Unlimited: readable without a loan."""
        return self.model == LicenseModel.open

    def stop_reason(self, now: datetime) -> tuple[str, str] | None:
        """Why this licence no longer lends (Japanese, English), or None while it does."""
        return stop_reason(self, now)

    @property
    def allows_text_search(self) -> bool:
        """Whether the book's text may be searched and shown as snippets: the setting, or on for open licences."""
        return self.is_open if self.text_search is None else self.text_search


@dataclass(frozen=True, slots=True)
class LicenseTerms:
    """What a lending decision needs of a licence, read as a plain row (the borrow path loads no ``License``)."""

    id: int
    model: LicenseModel
    copies: int | None
    loans_remaining: int | None
    valid_until: datetime | None
    max_loan_days: int | None

    @property
    def is_open(self) -> bool:
        """Unlimited: readable without a loan."""
        return self.model == LicenseModel.open

    def stop_reason(self, now: datetime) -> tuple[str, str] | None:
        """Why this licence no longer lends (Japanese, English), or None while it does."""
        return stop_reason(self, now)


def stop_reason(terms: License | LicenseTerms, now: datetime) -> tuple[str, str] | None:
    """The one rule for when a licence stops lending: expired, all loans used, or no copies."""
    if terms.valid_until is not None and terms.valid_until <= now:
        return ("契約期間が終了しました", "the licence has expired")
    if terms.loans_remaining is not None and terms.loans_remaining <= 0:
        return ("貸出回数の上限に達しました", "all licensed loans have been used")
    if not terms.is_open and not terms.copies:
        return ("同時貸出数が0です", "the licence has no copies")
    return None


class Loan(Base):
    """A patron's current loan. Deleted when it ends (returned or expired)."""

    __tablename__ = "loans"

    id: Mapped[int] = mapped_column(primary_key=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"), index=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), index=True)
    license_id: Mapped[int] = mapped_column(ForeignKey("licenses.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    renewals: Mapped[int] = mapped_column(Integer, default=0)
    due_notice_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    license: Mapped[License] = relationship()

    __table_args__ = (UniqueConstraint("patron_id", "title_id", name="uq_loans_patron_title"),)

    @property
    def search_title_id(self) -> int:
        """A loan starting or ending changes the title's ``available`` search field."""
        return self.title_id


class Hold(Base):
    """A patron's place in a title's waitlist (予約). Deleted when borrowed, cancelled or lapsed.

    ``queue_seq`` only grows within a title, so FIFO order is the order of ``queue_seq``; a patron's
    position is 1 + the number of holds before theirs.
    """

    __tablename__ = "holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"), index=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), index=True)
    queue_seq: Mapped[int] = mapped_column(Integer)
    state: Mapped[HoldState] = mapped_column(_enum(HoldState, "hold_state"), default=HoldState.waiting, index=True)
    license_id: Mapped[int | None] = mapped_column(ForeignKey("licenses.id", ondelete="SET NULL"), index=True)  # the reserved copy
    ready_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    suspended_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("patron_id", "title_id", name="uq_holds_patron_title"),
        UniqueConstraint("title_id", "queue_seq", name="uq_holds_title_queue_seq"),
    )

    @property
    def search_title_id(self) -> int:
        """A hold becoming ready reserves a copy, which changes the title's ``available`` field."""
        return self.title_id


class PatronCategory(Base):
    """What patrons of one category (利用者区分) may do; editable by staff."""

    __tablename__ = "patron_categories"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    max_loans: Mapped[int] = mapped_column(Integer, default=5)
    max_holds: Mapped[int] = mapped_column(Integer, default=5)
    loan_days: Mapped[int] = mapped_column(Integer, default=14)
    renewals: Mapped[int] = mapped_column(Integer, default=1)
    hold_ready_days: Mapped[int] = mapped_column(Integer, default=3)
    open_titles_only: Mapped[bool] = mapped_column(Boolean, default=False)
    collections: Mapped[list] = mapped_column(JSON, default=list)  # collection codes; empty = all


class LendingSetting(Base):
    """A library-wide lending setting (see ``policy.SETTINGS`` for the names and defaults)."""

    __tablename__ = "lending_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class LendingEvent(Base):
    """A de-identified statistics event: no patron id, only facts about the patron and the title at that moment.

    ``borrower_key`` is an HMAC of the patron under the key of the event's 年度 (``security.yearkeys``), erased
    when that 年度 closes: unique borrowers can be counted within a year, never linked across years or to a
    person. ``age`` is the age in whole years on the day (from the date of birth, which is not stored here);
    the library's age bands are applied when a report is made. The title's facts are copied so reports read
    one table.
    """

    __tablename__ = "lending_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_on: Mapped[date] = mapped_column(Date, index=True)  # Japan time
    kind: Mapped[str] = mapped_column(String(20))  # borrow, return, expire, renew, hold, hold-cancel, hold-lapsed
    title_id: Mapped[int] = mapped_column(Integer, index=True)  # no FK: statistics outlive withdrawn titles
    category: Mapped[str] = mapped_column(String(40), default="")
    age_band: Mapped[str] = mapped_column(String(10), default="")  # unused since 0100_stats: bands are applied at report time
    school: Mapped[str] = mapped_column(String(40), default="")
    loan_hours: Mapped[int | None] = mapped_column(Integer)  # length of an ended loan (estimated waits)
    age: Mapped[int | None] = mapped_column(SmallInteger)  # None: 不明
    grade: Mapped[str] = mapped_column(String(10), default="")
    license_id: Mapped[int | None] = mapped_column(Integer)
    license_model: Mapped[str] = mapped_column(String(20), default="")
    channel: Mapped[str] = mapped_column(String(10), default="")  # web, opds (reading apps), line
    borrower_key: Mapped[str | None] = mapped_column(String(32))
    hour: Mapped[int | None] = mapped_column(SmallInteger)  # Japan time, 0-23
    weekday: Mapped[int | None] = mapped_column(SmallInteger)  # Monday 0 ... Sunday 6
    from_hold: Mapped[bool] = mapped_column(Boolean, default=False)  # a loan that filled a hold
    ndc: Mapped[str] = mapped_column(String(3), default="")  # the first three digits
    audience: Mapped[str] = mapped_column(String(10), default="")
    format: Mapped[str] = mapped_column(String(30), default="")

    __table_args__ = (
        Index("ix_lending_events_title_kind", "title_id", "kind"),
        Index("ix_lending_events_kind_day", "kind", "occurred_on"),
        # reports counting patrons read only this index (unique borrowers, small cells by age, school, grade)
        Index("ix_lending_events_patrons", "kind", "occurred_on", "borrower_key", "age", "school", "grade"),
    )


class ReadingHistoryEntry(Base):
    """A finished loan, kept only for patrons who opted in to a reading history (読書記録)."""

    __tablename__ = "reading_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"), index=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"))
    borrowed_on: Mapped[date] = mapped_column(Date)
    returned_on: Mapped[date] = mapped_column(Date)
