"""How long a patron on the waitlist may wait (待ち時間の目安), told honestly as a range.

The short end is what this title's past loans suggest (readers often return early); the long end is the
worst case: every current loan runs to its due date, and each hold ahead keeps its copy for the whole
ready period and then a full loan period. When the licence ends (or its loans run out) before the
patron's turn, the estimate says so instead of giving a date that will never come.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from elibrary.lending import policy
from elibrary.lending.models import Hold, HoldState, LendingEvent, License, Loan

RECENT_LOANS = 50  # how many ended loans of the title the short end learns from


@dataclass(frozen=True)
class WaitEstimate:
    """A range of waits, and whether the licence is likely to end first."""

    low: timedelta
    high: timedelta
    license_ends_at: datetime | None = None
    ends_before_turn: bool = False  # even the short end comes after the licence ends
    may_end_first: bool = False  # the long end does

    @property
    def low_days(self) -> int:
        """The short end in whole days (at least 1: "today" is not a promise)."""
        return _days(self.low)

    @property
    def high_days(self) -> int:
        """The long end in whole days."""
        return max(_days(self.high), self.low_days)


def _days(span: timedelta) -> int:
    return max(1, -(-int(span.total_seconds()) // 86400))


def average_loan(session: Session, title_id: int, fallback: timedelta) -> timedelta:
    """How long this title's recent loans actually lasted (``fallback`` if none ended yet)."""
    recent = (
        select(LendingEvent.loan_hours)
        .where(LendingEvent.title_id == title_id, LendingEvent.loan_hours.is_not(None))
        .order_by(LendingEvent.id.desc())
        .limit(RECENT_LOANS)
        .subquery()
    )
    hours = session.scalar(select(func.avg(recent.c.loan_hours)))
    if hours is None:
        return fallback
    return timedelta(hours=max(1.0, float(hours)))


def full_turn(session: Session) -> tuple[timedelta, timedelta]:
    """The longest loan period and the longest time a ready copy is kept, over every category."""
    categories = policy.all_categories(session)
    longest_loan = min(max(c.loan_days for c in categories), policy.setting(session, "max_loan_days") or 365)
    longest_ready = max(c.hold_ready_days for c in categories)
    return timedelta(days=longest_loan), timedelta(days=longest_ready)


def turn_after(free_at: list[datetime], ahead: int, period: timedelta) -> datetime:
    """When the copy for the hold after ``ahead`` others comes, if each copy turns over every ``period``."""
    heap = list(free_at)
    heapq.heapify(heap)
    turn = heap[0]
    for _ in range(ahead + 1):
        turn = heapq.heappop(heap)
        heapq.heappush(heap, turn + period)
    return turn


def estimate(
    session: Session, title_id: int, holds: list[Hold], hold: Hold, lending: list[License], now: datetime
) -> WaitEstimate | None:
    """The wait of ``hold`` (not ready) given the title's holds in queue order and its lending licences."""
    copies = sum(lic.copies or 0 for lic in lending if not lic.is_open)
    if copies <= 0:
        return None
    loan_period, ready_period = full_turn(session)
    typical = average_loan(session, title_id, loan_period)
    loans = session.execute(select(Loan.started_at, Loan.due_at).where(Loan.title_id == title_id)).all()
    ready = [h for h in holds if h.state == HoldState.ready]
    ahead = sum(1 for h in holds if h.queue_seq < hold.queue_seq and h.state == HoldState.waiting)

    soon = sorted([min(max(started + typical, now), due) for started, due in loans] + [now + typical for _ in ready])[:copies]
    soon += [now] * (copies - len(soon))
    late = sorted([due for _, due in loans] + [(h.ready_until or now + ready_period) + loan_period for h in ready])[:copies]
    late += [now] * (copies - len(late))
    low = max(timedelta(0), turn_after(soon, ahead, typical) - now)
    high = max(low, turn_after(late, ahead, ready_period + loan_period) - now)

    ends = [lic.valid_until for lic in lending if not lic.is_open]
    ends_at = max(ends) if ends and all(end is not None for end in ends) else None
    needed = len(ready) + ahead + 1
    remaining = [lic.loans_remaining for lic in lending if not lic.is_open]
    runs_out = bool(remaining) and all(r is not None for r in remaining) and sum(remaining) < needed
    before = runs_out or (ends_at is not None and now + low >= ends_at)
    return WaitEstimate(low, high, ends_at, before, not before and ends_at is not None and now + high >= ends_at)
