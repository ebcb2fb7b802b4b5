"""What a title has free, who waits for it, and how long a patron may expect to wait.

Read-only queries; the decisions that change copies live in ``services`` under the title lock.
"""
from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from elibrary.catalog.models import Title
from elibrary.db import utcnow
from elibrary.lending import policy
from elibrary.lending.models import Hold, HoldState, LendingEvent, License, Loan
from elibrary.patrons.models import Patron

RECENT_LOANS = 50  # how many ended loans of the title the wait estimate learns from


def free_copies(session: Session, title_id: int, licenses: list[License]) -> dict[int, int | None]:
    """Copies each licence can still lend now: copies − loans − ready reservations (None: unlimited)."""
    if not licenses:
        return {}
    on_loan = select(func.count()).select_from(Loan).where(Loan.license_id == License.id).scalar_subquery()
    reserved = select(func.count()).select_from(Hold).where(Hold.license_id == License.id, Hold.state == HoldState.ready).scalar_subquery()
    usage = {row[0]: (row[1], row[2]) for row in session.execute(select(License.id, on_loan, reserved).where(License.title_id == title_id))}
    return {lic.id: copies_free(lic, *usage.get(lic.id, (0, 0))) for lic in licenses}


def copies_free(license: License, loans: int, ready: int) -> int | None:
    """Copies a licence can still lend given its loans and ready reservations (None: unlimited)."""
    if license.is_open:
        return None
    free = (license.copies or 0) - loans - ready
    if license.loans_remaining is not None:
        free = min(free, license.loans_remaining - ready)
    return max(0, free)


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
    estimated_wait: timedelta | None = None

    @property
    def available(self) -> bool:
        """A copy can be borrowed now without waiting."""
        return self.lendable and (self.copies_available is None or self.copies_available > 0)

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
    total = available = 0
    for lic in licenses:
        reason = lic.stop_reason(now)
        result.licenses.append(LicenseStatus(lic, loans[lic.id], ready[lic.id], free[lic.id] if reason is None else 0, reason))
        result.on_loan += loans[lic.id]
        if reason is not None:
            continue
        result.lendable = True
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
                result.estimated_wait = estimate_wait(session, title_id, holds, hold, total, now)
    return result


def average_loan(session: Session, title_id: int) -> timedelta:
    """How long this title's recent loans actually lasted (the citizen loan period if none ended yet)."""
    recent = (
        select(LendingEvent.loan_hours)
        .where(LendingEvent.title_id == title_id, LendingEvent.loan_hours.is_not(None))
        .order_by(LendingEvent.id.desc())
        .limit(RECENT_LOANS)
        .subquery()
    )
    hours = session.scalar(select(func.avg(recent.c.loan_hours)))
    if hours is None:
        return timedelta(days=policy.category_policy(session, "citizen").loan_days)
    return timedelta(hours=max(1.0, float(hours)))


def estimate_wait(session: Session, title_id: int, holds: list[Hold], hold: Hold, copies: int, now: datetime) -> timedelta | None:
    """When a copy should come to ``hold``: each copy turns over after the title's average real loan.

    Current loans end at their expected time (start + average, within now..due); ready holds ahead have a
    copy already and keep it for one average loan; suspended holds ahead are skipped.
    """
    if hold.state == HoldState.ready:
        return timedelta(0)
    if copies <= 0:
        return None
    typical = average_loan(session, title_id)
    copy_free_at = [
        min(max(started + typical, now), due)
        for started, due in session.execute(select(Loan.started_at, Loan.due_at).where(Loan.title_id == title_id)).all()
    ]
    copy_free_at += [now + typical for h in holds if h.state == HoldState.ready]
    copy_free_at = sorted(copy_free_at)[:copies]
    copy_free_at += [now] * (copies - len(copy_free_at))
    heapq.heapify(copy_free_at)
    ahead = [h for h in holds if h.queue_seq < hold.queue_seq and h.state == HoldState.waiting]
    turn = now
    for _ in range(len(ahead) + 1):
        turn = heapq.heappop(copy_free_at)
        heapq.heappush(copy_free_at, turn + typical)
    return max(timedelta(0), turn - now)


@dataclass
class ShelfView:
    """A patron's マイ本棚: loans (soonest due first) and holds (with position and wait)."""

    loans: list[tuple[Loan, Title]]
    holds: list[tuple[Hold, Title, Availability]]


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
    )


def available_map(session: Session, ids: list[int], now: datetime | None = None) -> dict[int, dict]:
    """The search enricher: ``{title_id: {"available": bool}}`` for the availability facet."""
    now = now or utcnow()
    if not ids:
        return {}
    licenses = session.scalars(select(License).where(License.title_id.in_(ids))).all()
    loans = Counter(dict(session.execute(select(Loan.license_id, func.count()).where(Loan.title_id.in_(ids)).group_by(Loan.license_id)).all()))
    ready = Counter(
        dict(
            session.execute(
                select(Hold.license_id, func.count()).where(Hold.title_id.in_(ids), Hold.state == HoldState.ready).group_by(Hold.license_id)
            ).all()
        )
    )
    result = {title_id: {"available": False} for title_id in ids}
    for lic in licenses:
        if lic.stop_reason(now) is None:
            free = copies_free(lic, loans[lic.id], ready[lic.id])
            if free is None or free > 0:
                result[lic.title_id]["available"] = True
    return result
