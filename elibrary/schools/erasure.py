"""Erasing ended school accounts: graduates after their cut-off day, pupils who left the city's schools.

Their loans end and their holds are cancelled through the lending services (so the copies go to the next
patron in the waitlist), then the patron row is deleted with everything that hangs on it (member,
enrolments, reading positions). The ``school-erasure`` job runs it daily (``elibrary jobs run``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.lending.models import Hold, Loan
from elibrary.lending.policy import tokyo_today
from elibrary.patrons.models import Patron
from elibrary.schools.models import Member
from elibrary.security.crypto import DataCipher

BATCH = 200


def ended_members(session: Session, now: datetime, limit: int = BATCH) -> list[Member]:
    """Graduated or departed members whose last sign-in day has passed."""
    today = tokyo_today(now)
    return list(session.scalars(select(Member).where(Member.status.in_(("graduated", "left")), Member.signin_until < today)
                                .order_by(Member.id).limit(limit)))


@dataclass(frozen=True)
class LendingEnds:
    """The lending services that end a loan and cancel a hold (``lending.services.return_loan`` / ``cancel_hold``),
    handed in by the wiring room: a wing never imports a sibling's services."""

    return_loan: Callable
    cancel_hold: Callable


def erase_member(session: Session, member: Member, now: datetime, lending: LendingEnds, cipher: DataCipher | None = None) -> None:
    """End the member's loans and holds (copies freed for the waitlists), then delete the account and its data."""
    patron = session.get(Patron, member.patron_id)
    for loan_id in list(session.scalars(select(Loan.id).where(Loan.patron_id == patron.id))):
        lending.return_loan(session, patron, loan_id, now=now, cipher=cipher)
    for hold_id in list(session.scalars(select(Hold.id).where(Hold.patron_id == patron.id))):
        lending.cancel_hold(session, patron, hold_id, now=now, cipher=cipher)
    session.expunge(member)
    session.delete(patron)  # the database cascades to the member, its enrolments and reading positions
    session.flush()


def scheduled_erasure(runtime, now: datetime, lending: LendingEnds) -> str:
    """The ``school-erasure`` job: erase ended accounts, a batch per transaction."""
    erased = 0
    while True:
        with runtime.db.scope() as session:
            batch = ended_members(session, now)
            for member in batch:
                erase_member(session, member, now, lending, runtime.cipher)
            erased += len(batch)
        if len(batch) < BATCH:
            return f"school accounts erased: {erased}"
