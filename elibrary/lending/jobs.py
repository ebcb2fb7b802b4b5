"""Scheduled work: expire loans and ready holds, move queues, resume suspended holds, send notices, and
erase personal data whose time is up (expired provisional registrations, delivered notifications).

``run_pass`` is what ``elibrary jobs run`` does. The same pass runs inside the service on a background
thread per process (``Scheduler``), so a library without cron still returns books on time. Only one
process runs a pass at a time: it first takes the ``job_leases`` row with a conditional UPDATE (works
the same on SQLite and PostgreSQL). Each title is then processed in its own short transaction under the
title lock, re-reading what is due, so even two passes at once could not process a loan twice.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from elibrary.config import DEFAULTS
from elibrary.db import Database, utcnow
from elibrary.lending import locks, notices, policy, services
from elibrary.lending.models import Hold, HoldState, JobLease, License, Loan
from elibrary.notify import outbox
from elibrary.patrons import registration
from elibrary.security.crypto import DataCipher

log = logging.getLogger(__name__)

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
    """Take the pass lease if free or expired (one conditional UPDATE; the row is created once)."""
    with db.scope() as session:
        if session.get(JobLease, LEASE_NAME) is None:
            try:
                with session.begin_nested():
                    session.add(JobLease(name=LEASE_NAME, holder="", expires_at=now - timedelta(seconds=1)))
            except IntegrityError:
                pass  # another process created it first
        result = session.execute(
            update(JobLease)
            .where(JobLease.name == LEASE_NAME, or_(JobLease.expires_at <= now, JobLease.holder == holder))
            .values(holder=holder, expires_at=now + timedelta(seconds=seconds))
        )
        return result.rowcount == 1


def release_lease(db: Database, holder: str, now: datetime) -> None:
    """Give the lease back, noting when the pass ran."""
    with db.scope() as session:
        session.execute(
            update(JobLease).where(JobLease.name == LEASE_NAME, JobLease.holder == holder).values(holder="", expires_at=now, last_run_at=now)
        )


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


def run_pass(
    db: Database, cipher: DataCipher, *, now: datetime | None = None, holder: str | None = None, settings: Mapping | None = None
) -> PassReport:
    """One pass of scheduled work, if no other process is running one (``settings``: the outbox retention)."""
    now = now or utcnow()
    holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    if not take_lease(db, holder, now):
        return PassReport(ran=False)
    report = PassReport()
    try:
        with db.scope(write=False) as session:
            todo = sorted(titles_with_work(session, now))
        for title_id in todo:
            with db.scope() as session:
                process_title(session, title_id, now, cipher, report)
        with db.scope() as session:
            report.due_notices = send_due_notices(session, cipher, now)
        with db.scope() as session:
            erase_expired_personal_data(session, now, settings, report)
    finally:
        release_lease(db, holder, now)
    return report


class Scheduler:
    """Runs ``run_pass`` every ``interval`` seconds on a daemon thread, started lazily in each process."""

    def __init__(self, runtime, interval: int) -> None:
        self._runtime = runtime
        self.interval = interval
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def ensure_started(self) -> None:
        """Start the thread in this process if it is not running (gunicorn forks after create_app)."""
        if self.interval <= 0:
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="lending-jobs", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        """End the thread after its current pass and wait for it (tests, shutdown)."""
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                report = run_pass(self._runtime.db, self._runtime.cipher, settings=self._runtime.settings)
                if report.ran and (report.loans_expired or report.holds_lapsed or report.holds_ready or report.registrations_expired or report.messages_purged):
                    log.info("lending jobs: %s", report.summary())
                self._runtime.deliver_notifications()
            except Exception:
                log.exception("scheduled lending pass failed; retrying at the next interval")
