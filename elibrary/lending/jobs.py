"""Scheduled lending work: expire loans and ready holds, move queues, resume suspended holds, send notices,
and erase personal data whose time is up (expired provisional registrations, delivered notifications).

``scheduled_pass`` is the ``lending`` job of the job registry (``elibrary.jobs``, declared in
``elibrary.wiring``): ``elibrary jobs run`` and the in-process scheduler run it under the registry's lease.
``run_pass`` is the same pass taking that lease itself (tests, benchmarks). Only one process runs a pass at
a time: the ``job_leases`` row is taken with a conditional UPDATE (the same on SQLite and PostgreSQL).
Each title is then processed in its own short transaction under the title lock, re-reading what is due,
so even two passes at once could not process a loan twice.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from elibrary import jobs as leases
from elibrary.catalog import indexing
from elibrary.config import DEFAULTS
from elibrary.db import Database, utcnow
from elibrary.lending import locks, notices, policy, services
from elibrary.lending.models import Hold, HoldState, License, Loan
from elibrary.notify import outbox
from elibrary.patrons import registration
from elibrary.security.crypto import DataCipher

LEASE_NAME = "lending"
LEASE_SECONDS = 300


@dataclass
class PassReport:
    """What one pass did (printed by ``elibrary jobs run``)."""

    ran: bool = True
    loans_expired: int = 0
    holds_lapsed: int = 0
    holds_resumed: int = 0
    holds_ready: int = 0
    due_notices: int = 0
    registrations_expired: int = 0
    messages_purged: int = 0
    titles: set[int] = field(default_factory=set)

    def summary(self) -> str:
        """One line for the operator."""
        if not self.ran:
            return "another process is running the lending jobs; nothing done"
        return (
            f"loans expired {self.loans_expired}, holds lapsed {self.holds_lapsed}, holds resumed {self.holds_resumed}, "
            f"holds made ready {self.holds_ready}, due-soon notices {self.due_notices}, "
            f"registrations expired {self.registrations_expired}, old notifications erased {self.messages_purged}"
        )


def take_lease(db: Database, holder: str, now: datetime, seconds: int = LEASE_SECONDS) -> bool:
    """Take the lending pass's lease if free or expired (see ``elibrary.jobs.take_lease``)."""
    return leases.take_lease(db, LEASE_NAME, holder, now, seconds)


def release_lease(db: Database, holder: str, now: datetime) -> None:
    """Give the lease back, noting when the pass ran."""
    leases.release_lease(db, LEASE_NAME, holder, now)


def titles_with_work(session: Session, now: datetime) -> set[int]:
    """Titles with a loan past due, a ready hold past its window, a suspension ended, or a stale reservation."""
    ids = set(session.scalars(select(Loan.title_id).where(Loan.due_at <= now)))
    ids |= set(session.scalars(select(Hold.title_id).where(Hold.state == HoldState.ready, Hold.ready_until <= now)))
    ids |= set(session.scalars(select(Hold.title_id).where(Hold.state == HoldState.suspended, Hold.suspended_until <= now)))
    stopped = select(License.id).where(
        or_(License.valid_until <= now, License.loans_remaining < 0)  # reservations on an expired licence
    )
    ids |= set(session.scalars(select(Hold.title_id).where(Hold.state == HoldState.ready, Hold.license_id.in_(stopped))))
    # Waiting holds with a copy free (e.g. a licence added by SQL, a crash between steps): serve them.
    ids |= set(session.scalars(select(Hold.title_id).where(Hold.state == HoldState.waiting).distinct()))
    return ids


def process_title(session: Session, title_id: int, now: datetime, cipher: DataCipher | None, report: PassReport) -> None:
    """All due work of one title, under its lock."""
    if locks.lock_title(session, title_id) is None:
        return
    for loan in session.scalars(select(Loan).where(Loan.title_id == title_id, Loan.due_at <= now)).all():
        services.end_loan(session, loan, "expire", now)
        report.loans_expired += 1
    for hold in session.scalars(select(Hold).where(Hold.title_id == title_id, Hold.state == HoldState.ready, Hold.ready_until <= now)).all():
        services.lapse_hold(session, hold, now)
        report.holds_lapsed += 1
    for hold in session.scalars(
        select(Hold).where(Hold.title_id == title_id, Hold.state == HoldState.suspended, Hold.suspended_until <= now)
    ).all():
        hold.state, hold.suspended_until = HoldState.waiting, None
        report.holds_resumed += 1
    session.flush()
    report.holds_ready += len(services.promote_holds(session, title_id, now, cipher))
    report.titles.add(title_id)


def send_due_notices(session: Session, cipher: DataCipher, now: datetime) -> int:
    """Due-soon reminders and ready-hold notices not yet sent; each is recorded so it is sent once."""
    days = policy.setting(session, "due_soon_days")
    count = 0
    if days:
        due = session.scalars(
            select(Loan).where(Loan.due_notice_sent_at.is_(None), Loan.due_at <= now + timedelta(days=days), Loan.due_at > now)
        ).all()
        for loan in due:
            notices.due_soon(session, cipher, loan, now)
            count += 1
    for hold in session.scalars(select(Hold).where(Hold.state == HoldState.ready, Hold.notified_at.is_(None))).all():
        notices.hold_ready(session, cipher, hold, now)
    session.flush()
    return count


def erase_expired_personal_data(session: Session, now: datetime, settings: Mapping | None, report: PassReport) -> None:
    """Provisional registrations past their time (仮登録の期限切れ) and delivered notifications past retention."""
    settings = {**DEFAULTS, **(settings or {})}
    report.registrations_expired = registration.purge_expired(session, now)
    report.messages_purged = outbox.purge_old(
        session,
        now,
        sent_days=int(settings["ELIBRARY_OUTBOX_RETENTION_DAYS"]),
        failed_days=int(settings["ELIBRARY_OUTBOX_FAILED_RETENTION_DAYS"]),
    )


def titles_whose_licences_ended(session: Session, since: datetime | None, now: datetime) -> set[int]:
    """Titles with a licence whose term ended after ``since`` (the last pass; None: ever) and by ``now``.

    Their availability changed with the clock, though no row did: the search's availability facet hears of it here.
    """
    ended = select(License.title_id).where(License.valid_until <= now)
    if since is not None:
        ended = ended.where(License.valid_until > since)
    return set(session.scalars(ended.distinct()))


def lending_pass(db: Database, cipher: DataCipher, now: datetime, settings: Mapping | None = None) -> PassReport:
    """One pass of lending work, the caller holding the lease (``settings``: the outbox retention)."""
    report = PassReport()
    since = leases.last_run(db, LEASE_NAME)
    with db.scope(write=False) as session:
        todo = sorted(titles_with_work(session, now))
        ended = titles_whose_licences_ended(session, since, now)
    if ended:
        with db.scope() as session:
            indexing.queue_titles(session, ended, availability_only=True)
    for title_id in todo:
        with db.scope() as session:
            process_title(session, title_id, now, cipher, report)
    with db.scope() as session:
        report.due_notices = send_due_notices(session, cipher, now)
    with db.scope() as session:
        erase_expired_personal_data(session, now, settings, report)
    return report


def run_pass(
    db: Database, cipher: DataCipher, *, now: datetime | None = None, holder: str | None = None, settings: Mapping | None = None
) -> PassReport:
    """One pass of scheduled work, if no other process is running one (``settings``: the outbox retention)."""
    now = now or utcnow()
    holder = holder or leases.new_holder()
    if not take_lease(db, holder, now):
        return PassReport(ran=False)
    try:
        return lending_pass(db, cipher, now, settings)
    finally:
        release_lease(db, holder, now)


def scheduled_pass(runtime, now: datetime) -> str:
    """The registry's ``lending`` job: one pass with the runtime's database, cipher and settings."""
    return f"lending: {lending_pass(runtime.db, runtime.cipher, now, runtime.settings).summary()}"
