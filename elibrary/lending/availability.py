"""What a title has free, who waits for it, and how long a patron may expect to wait.

Read-only queries; the decisions that change copies live in ``services`` under the title lock.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.orm import Session

from elibrary.catalog.models import Title
from elibrary.db import utcnow
from elibrary.lending import policy, readability, waits
from elibrary.lending.licenses import usage_columns
from elibrary.lending.models import Hold, HoldState, License, LicenseTerms, Loan
from elibrary.patrons.models import Patron


def free_copies(session: Session, title_id: int, licenses: list[License]) -> dict[int, int | None]:
    """Copies each licence can still lend now: copies − loans − ready reservations (None: unlimited)."""
    if not licenses:
        return {}
    on_loan = select(func.count()).select_from(Loan).where(Loan.license_id == License.id).scalar_subquery()
    reserved = select(func.count()).select_from(Hold).where(Hold.license_id == License.id, Hold.state == HoldState.ready).scalar_subquery()
    usage = {row[0]: (row[1], row[2]) for row in session.execute(select(License.id, on_loan, reserved).where(License.title_id == title_id))}
    return {lic.id: copies_free(lic, *usage.get(lic.id, (0, 0))) for lic in licenses}


def copies_free(license: License | LicenseTerms, loans: int, ready: int) -> int | None:
    """Copies a licence can still lend given its loans and ready reservations (None: unlimited)."""
    if license.is_open:
        return None
    free = (license.copies or 0) - loans - ready
    if license.loans_remaining is not None:
        free = min(free, license.loans_remaining - ready)
    return max(0, free)


def has_free_copy(usage: Iterable[tuple[License | LicenseTerms, int, int]], now: datetime) -> bool:
    """Whether one of a title's licences lends now with a copy free, given each licence's loans and ready reservations.

    The availability the search shows (with a readable file): ``available_map`` reads the usage, and the lending
    statements that already hold it (``loan_rows``) tell the search index without reading it again.
    """
    for terms, on_loan, reserved in usage:
        if terms.stop_reason(now) is None:
            free = copies_free(terms, on_loan, reserved)
            if free is None or free > 0:
                return True
    return False


@dataclass
class LicenseStatus:
    """One licence as staff see it: in use, free, and why it stopped lending."""

    license: License
    on_loan: int
    reserved: int
    free: int | None
    stop_reason: tuple[str, str] | None


@dataclass
class Availability:
    """A title's lending state, optionally as seen by one patron."""

    title_id: int
    is_open: bool = False
    lendable: bool = False  # some licence still lends
    copies_total: int | None = 0  # simultaneous copies of lending licences; None: unlimited
    copies_available: int | None = 0
    on_loan: int = 0
    holds_total: int = 0
    holds_waiting: int = 0
    licenses: list[LicenseStatus] = field(default_factory=list)
    loan: Loan | None = None  # the patron's loan
    hold: Hold | None = None  # the patron's hold
    position: int | None = None  # the patron's place in the queue, from 1
    wait: waits.WaitEstimate | None = None  # the patron's wait, as a range
    has_file: bool = True  # a readable EPUB or PDF exists (without one nothing is lent)

    @property
    def estimated_wait(self) -> timedelta | None:
        """The short end of the patron's wait (what past loans suggest)."""
        return self.wait.low if self.wait is not None else None

    @property
    def available(self) -> bool:
        """A copy can be borrowed now without waiting."""
        return self.lendable and self.has_file and (self.copies_available is None or self.copies_available > 0)

    @property
    def holds_ratio(self) -> float | None:
        """Holds per copy (staff purchasing signal)."""
        if not self.copies_total:
            return None
        return self.holds_total / self.copies_total


def availability(session: Session, title_id: int, patron: Patron | None = None, *, now: datetime | None = None) -> Availability:
    """Copies total and free, holds, and (for ``patron``) their loan, hold, position and estimated wait."""
    now = now or utcnow()
    licenses = session.scalars(select(License).where(License.title_id == title_id).order_by(License.id)).all()
    free = free_copies(session, title_id, list(licenses))
    loans = Counter(dict(session.execute(select(Loan.license_id, func.count()).where(Loan.title_id == title_id).group_by(Loan.license_id)).all()))
    holds = session.scalars(select(Hold).where(Hold.title_id == title_id).order_by(Hold.queue_seq)).all()
    ready = Counter(h.license_id for h in holds if h.state == HoldState.ready)
    result = Availability(title_id=title_id, holds_total=len(holds), holds_waiting=sum(h.state == HoldState.waiting for h in holds))
    result.has_file = readability.has_readable_file(session, title_id)
    total = available = 0
    lending: list[License] = []
    for lic in licenses:
        reason = lic.stop_reason(now)
        result.licenses.append(LicenseStatus(lic, loans[lic.id], ready[lic.id], free[lic.id] if reason is None else 0, reason))
        result.on_loan += loans[lic.id]
        if reason is not None:
            continue
        result.lendable = True
        lending.append(lic)
        if lic.is_open:
            result.is_open = True
        else:
            total += lic.copies or 0
            available += free[lic.id] or 0
    result.copies_total = None if result.is_open else total
    result.copies_available = None if result.is_open else available
    if patron is not None and not getattr(patron, "is_staff", False):
        result.loan = session.scalar(select(Loan).where(Loan.patron_id == patron.id, Loan.title_id == title_id))
        for index, hold in enumerate(holds):
            if hold.patron_id == patron.id:
                result.hold, result.position = hold, index + 1
                if hold.state != HoldState.ready:
                    result.wait = waits.estimate(session, title_id, list(holds), hold, lending, now)
    return result


@dataclass
class ShelfView:
    """A patron's マイ本棚: loans (soonest due first) and holds (with position and wait)."""

    loans: list[tuple[Loan, Title]]
    holds: list[tuple[Hold, Title, Availability]]
    readable: set[int] = field(default_factory=set)  # titles with a file the readers can open

    @property
    def ready_holds(self) -> list[tuple[Hold, Title, Availability]]:
        """Holds with a copy kept for the patron now."""
        return [row for row in self.holds if row[0].state == HoldState.ready]


def shelf(session: Session, patron: Patron, *, now: datetime | None = None) -> ShelfView:
    """The patron's current loans and holds."""
    now = now or utcnow()
    loans = session.execute(select(Loan, Title).join(Title, Title.id == Loan.title_id).where(Loan.patron_id == patron.id).order_by(Loan.due_at)).all()
    holds = session.execute(
        select(Hold, Title).join(Title, Title.id == Hold.title_id).where(Hold.patron_id == patron.id).order_by(Hold.created_at, Hold.id)
    ).all()
    return ShelfView(
        loans=[(loan, title) for loan, title in loans],
        holds=[(hold, title, availability(session, title.id, patron, now=now)) for hold, title in holds],
        readable=readability.readable_titles(session, [title.id for _, title in loans]),
    )


@dataclass
class PatronNotices:
    """What a signed-in patron should see at once: holds ready to borrow and loans ending soon."""

    ready: list[tuple[Hold, Title]]
    due_soon: list[tuple[Loan, Title]]


def patron_notices(session: Session, patron: Patron, *, now: datetime | None = None) -> PatronNotices:
    """Ready holds (with the time they are kept) and loans due within the library's due-soon days (two queries)."""
    now = now or utcnow()
    soon = now + timedelta(days=max(1, policy.setting(session, "due_soon_days")))
    ready = session.execute(
        select(Hold, Title).join(Title, Title.id == Hold.title_id).where(Hold.patron_id == patron.id, Hold.state == HoldState.ready)
        .order_by(Hold.ready_until)
    ).all()
    due = session.execute(
        select(Loan, Title).join(Title, Title.id == Loan.title_id).where(Loan.patron_id == patron.id, Loan.due_at <= soon).order_by(Loan.due_at)
    ).all()
    return PatronNotices([(h, t) for h, t in ready], [(loan, t) for loan, t in due])


_licenses, _loans, _holds = License.__table__, Loan.__table__, Hold.__table__
# Each licence of the titles with its loans and ready reservations, and whether its title has a readable file.
_USAGE = select(
    _licenses.c.title_id,
    *usage_columns(_holds),
    readability.readable_file_exists(_licenses.c.title_id).label("readable"),
)
# one title (a lending transaction) without the per-call rendering of an IN list; several (indexing) with it
_USAGE_OF_ONE = _USAGE.where(_licenses.c.title_id == bindparam("title_id", type_=Integer))
_USAGE_OF_MANY = _USAGE.where(_licenses.c.title_id.in_(bindparam("title_ids", expanding=True, type_=Integer)))


def available_map(session: Session, ids: list[int], now: datetime | None = None) -> dict[int, dict]:
    """The search enricher: ``{title_id: {"available": bool}}`` for the availability facet (a title without a file never is).

    One statement (it runs in every lending transaction when the search index is a table of the database):
    the titles' licences with their loans, ready reservations and whether the title has a file.
    """
    now = now or utcnow()
    if not ids:
        return {}
    usage: dict[int, list[tuple[LicenseTerms, int, int]]] = {title_id: [] for title_id in ids}
    one = len(usage) == 1
    rows = session.connection().execute(_USAGE_OF_ONE if one else _USAGE_OF_MANY, {"title_id": ids[0]} if one else {"title_ids": sorted(usage)})
    for row in rows:
        if row.readable:
            usage[row.title_id].append((LicenseTerms(row.id, row.model, row.copies, row.loans_remaining, row.valid_until, row.max_loan_days),
                                        row.on_loan, row.reserved))
    return {title_id: {"available": has_free_copy(rows_of_title, now)} for title_id, rows_of_title in usage.items()}
