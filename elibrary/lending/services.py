"""Lending services: licences, loans and holds. Plain functions on a ``Session``; no Flask here.

Every decision about a title's copies is taken while holding that title's lock (``locks.py``), so
loans never exceed what was licensed and queue places are never skipped or duplicated, however many
workers press 借りる at once. Services flush, never commit.

``cipher`` (where accepted) lets the service queue a notification for a hold that became ready; without
it the hold still becomes ready and the scheduled jobs send the notice (``notified_at`` stays empty).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from elibrary.catalog.models import Title, TitleStatus
from elibrary.db import utcnow
from elibrary.errors import InvalidInput, NotFound
from elibrary.lending import history, licenses, loan_rows, locks, policy, readability
from elibrary.lending.availability import Availability, ShelfView, availability, copies_free, has_free_copy, shelf  # noqa: F401  (API)
from elibrary.lending.errors import (
    AlreadyBorrowed,
    HoldNotFound,
    HoldRefused,
    LimitReached,
    LoanNotFound,
    NoBookFile,
    NotAvailable,
    NotLendable,
    RenewalRefused,
)
from elibrary.lending.history import delete_reading_history, reading_history, set_reading_history  # noqa: F401  (API)
from elibrary.lending.licenses import license_usage, licenses_of, spending_order  # noqa: F401  (API)
from elibrary.lending.models import Hold, HoldState, License, LicenseModel, LicenseTerms, Loan
from elibrary.lending.supply import add_license, promote_holds, set_text_search  # noqa: F401  (API)
from elibrary.patrons.models import Patron
from elibrary.security.crypto import DataCipher

__all__ = [
    "Availability",
    "ShelfView",
    "active_loan",
    "add_license",
    "set_text_search",
    "availability",
    "borrow",
    "can_read",
    "cancel_hold",
    "loan_of",
    "place_hold",
    "renew",
    "resume_hold",
    "return_loan",
    "shelf",
    "suspend_hold",
]

MAX_SUSPEND_DAYS = 365

# --- licences ---------------------------------------------------------------------------------


# --- loans ------------------------------------------------------------------------------------


def _lendable_title(session: Session, title_id: int) -> Title:
    title = locks.lock_title(session, title_id)
    if title is None or title.status != TitleStatus.active:
        raise NotFound("本が見つかりません。", "No such title.")
    return title


def _locked_patron(session: Session, patron: Patron, now: datetime) -> Patron:
    fresh = locks.lock_patron(session, patron.id)
    if fresh is None:
        raise NotFound("利用者が見つかりません。", "No such patron.")
    policy.check_patron_may_borrow(fresh, now)
    return fresh


def _connection(session: Session) -> Connection:
    """The session's connection for Core statements, after writing out any pending ORM changes."""
    session.flush()
    return session.connection()


def borrow(session: Session, patron: Patron, title_id: int, *, now: datetime | None = None, cipher: DataCipher | None = None,
           channel: str = "web") -> Loan:
    """Lend a copy of the title to the patron, from their ready hold or a free licence.

    The hot path of the service, in Core SQL: one statement takes the patron's and the title's locks (in
    that order) and reads the title's status, file and facts, one reads everything the decision needs, one
    writes it (``loan_rows``; on SQLite the writes are one statement each).
    """
    now = now or utcnow()
    connection = _connection(session)
    me = locks.lock_patron_and_title(connection, patron.id, title_id)
    if me is None and session.scalar(select(Patron.id).where(Patron.id == patron.id)) is None:
        raise NotFound("利用者が見つかりません。", "No such patron.")
    if me is None or me.title_status != TitleStatus.active:
        raise NotFound("本が見つかりません。", "No such title.")
    policy.check_patron_may_borrow(me, now)
    state = licenses.borrow_state(connection, me.id, title_id)
    if state.this_loan is not None:
        raise AlreadyBorrowed()
    lending = [lic for lic, _, _ in state.usage if lic.stop_reason(now) is None]
    if not lending:
        raise NotLendable()
    if not me.title_readable:
        raise NoBookFile()
    rules = policy.category_policy(session, me.category)
    if rules.open_titles_only or rules.collections:
        policy.check_collection(rules, session.get(Title, title_id), is_open=any(lic.is_open for lic in lending))
    if state.loan_count >= rules.max_loans:
        raise LimitReached(
            f"貸出できるのは{rules.max_loans}冊までです。返却してから借りてください。",
            f"You may have at most {rules.max_loans} loans. Return a book first.",
            reason="max-loans",
        )
    license = None
    if state.hold_state == HoldState.ready:
        license = next((lic for lic in lending if lic.id == state.hold_license_id), None)  # the copy kept for this hold
    if license is None:
        free = {lic.id: copies_free(lic, on_loan, reserved) for lic, on_loan, reserved in state.usage}
        license = next((lic for lic in lending if free[lic.id] is None or free[lic.id] > 0), None)
    if license is None:
        raise NotAvailable(can_hold=True)
    facts = history.TitleFacts(me.ndc, me.audience, me.format)
    released = state.hold_license_id if state.hold_state == HoldState.ready else None  # the copy the patron's ready hold kept
    available = me.title_readable and has_free_copy(licenses.usage_after_loan(state.usage, license.id, released), now)  # for the search
    return loan_rows.write_loan(session, connection, me, title_id, license, _due(session, rules, license, now), state.hold_id, now, channel, facts,
                                available)


def _due(session: Session, rules: policy.CategoryPolicy, license: License | LicenseTerms, now: datetime) -> datetime:
    days = min(rules.loan_days, license.max_loan_days or rules.loan_days, policy.setting(session, "max_loan_days") or rules.loan_days)
    due = now + timedelta(days=days)
    if license.valid_until is not None:
        due = min(due, license.valid_until)
    return due


def active_loan(session: Session, patron_id: int, title_id: int) -> Loan | None:
    """The patron's current loan of the title, if any."""
    return session.scalar(select(Loan).where(Loan.patron_id == patron_id, Loan.title_id == title_id))


def _patron_loan(session: Session, patron: Patron, loan_id: int) -> Loan:
    """The patron's loan, read under its title's lock (a stale page may post a returned loan)."""
    locked = locks.lock_title_of(session, Loan, loan_id)
    loan = session.scalars(select(Loan).where(Loan.id == loan_id).execution_options(populate_existing=True)).one_or_none() if locked else None
    if loan is None or loan.patron_id != patron.id:
        raise LoanNotFound()
    return loan


def loan_of(session: Session, patron: Patron, loan_id: int) -> tuple[Loan, Title]:
    """The patron's current loan and its title (for the "return it?" question), or ``LoanNotFound``."""
    loan = session.get(Loan, loan_id)
    if loan is None or loan.patron_id != patron.id:
        raise LoanNotFound()
    return loan, session.get(Title, loan.title_id)


def return_loan(session: Session, patron: Patron, loan_id: int, *, now: datetime | None = None, cipher: DataCipher | None = None) -> None:
    """Return a loan early; the copy goes to the first waiting hold.

    The hot path, in Core SQL: one statement locks the loan's title and then the loan (so a loan that ended
    while we waited is not found), one ends it (``loan_rows``); the queue is served only if the title has holds.
    """
    now = now or utcnow()
    connection = _connection(session)
    loan = loan_rows.lock_loan_to_end(connection, loan_id)
    if loan is None or loan.patron_id != patron.id:
        raise LoanNotFound()
    if loan_rows.close_loan(session, connection, loan, "return", now):
        promote_holds(session, loan.title_id, now, cipher)


def end_loan(session: Session, loan: Loan, kind: str, now: datetime) -> None:
    """End a loan (returned or expired; the caller holds the title lock): a de-identified event, and history only if opted in."""
    patron = session.get(Patron, loan.patron_id)
    category, keep = (patron.category, patron.keep_reading_history) if patron is not None else ("", False)
    ending = loan_rows.EndingLoan(loan.id, loan.patron_id, loan.title_id, loan.started_at, category, keep, loan.license_id)
    loan_rows.close_loan(session, _connection(session), ending, kind, now)


def renew(session: Session, patron: Patron, loan_id: int, *, now: datetime | None = None) -> Loan:
    """Extend a loan by a new loan period, only when nobody is waiting and renewals are left."""
    now = now or utcnow()
    loan = _patron_loan(session, patron, loan_id)
    policy.check_patron_may_borrow(patron, now)
    rules = policy.category_policy(session, patron.category)
    if loan.renewals >= rules.renewals:
        raise RenewalRefused("延長できる回数を超えています。", "No renewals are left for this loan.", reason="no-renewals-left")
    waiting = session.scalar(
        select(func.count()).select_from(Hold).where(Hold.title_id == loan.title_id, Hold.state.in_([HoldState.waiting, HoldState.ready]))
    )
    if waiting:
        raise RenewalRefused(
            "予約している方がいるため延長できません。", "Others are waiting for this book, so the loan cannot be renewed.", reason="holds"
        )
    license = session.get(License, loan.license_id)
    if license is None or license.stop_reason(now) is not None or (license.loans_remaining is not None and license.loans_remaining < 1):
        raise RenewalRefused("ライセンスの条件により延長できません。", "The licence does not allow a renewal.", reason="license")
    due = _due(session, rules, license, now)
    if due <= loan.due_at:
        raise RenewalRefused("ライセンスの期限のため延長できません。", "The licence ends before a renewal would.", reason="license")
    if license.loans_remaining is not None:
        license.loans_remaining -= 1  # publishers count a renewal as a new loan
    loan.due_at = due
    loan.renewals += 1
    loan.due_notice_sent_at = None
    history.record_event(session, "renew", loan.title_id, patron, now, license_id=loan.license_id)
    session.flush()
    return loan


def can_read(session: Session, patron, title: Title, *, now: datetime | None = None) -> bool:
    """Open titles are readable by anyone; licensed ones only by a patron with a current loan."""
    now = now or utcnow()
    if session.scalar(select(func.count()).select_from(License).where(License.title_id == title.id, License.model == LicenseModel.open)):
        return True
    if patron is None or not getattr(patron, "is_authenticated", False) or getattr(patron, "is_staff", False):
        return False
    loan = active_loan(session, patron.id, title.id)
    return loan is not None and loan.due_at > now


# --- holds ------------------------------------------------------------------------------------


def place_hold(session: Session, patron: Patron, title_id: int, *, now: datetime | None = None, channel: str = "web") -> Hold:
    """Join the title's waitlist (予約) when no copy is free."""
    now = now or utcnow()
    patron = _locked_patron(session, patron, now)
    title = _lendable_title(session, title_id)
    if active_loan(session, patron.id, title.id) is not None:
        raise HoldRefused("この本はすでに借りています。", "You already have this book on loan.", reason="on-loan")
    if session.scalar(select(Hold.id).where(Hold.patron_id == patron.id, Hold.title_id == title.id)) is not None:
        raise HoldRefused("この本はすでに予約しています。", "You already have a hold on this book.", reason="already-held")
    usage = [row for row in licenses.license_usage(session, title.id) if row[0].stop_reason(now) is None]
    lending = [lic for lic, _, _ in usage]
    if not lending:
        raise NotLendable()
    if not readability.has_readable_file(session, title.id):
        raise NoBookFile()
    if any(lic.is_open for lic in lending):
        raise HoldRefused("この本は予約なしで読めます。", "This book is free to read; no hold is needed.", reason="open")
    rules = policy.category_policy(session, patron.category)
    policy.check_collection(rules, title, is_open=False)
    if any(copies_free(lic, on_loan, reserved) for lic, on_loan, reserved in usage):
        raise HoldRefused("貸出できる本があります。予約せずに借りてください。", "A copy is available: borrow it instead.", reason="available")
    count = session.scalar(select(func.count()).select_from(Hold).where(Hold.patron_id == patron.id))
    if count >= rules.max_holds:
        raise LimitReached(
            f"予約できるのは{rules.max_holds}件までです。", f"You may have at most {rules.max_holds} holds.", reason="max-holds"
        )
    last = session.scalar(select(func.max(Hold.queue_seq)).where(Hold.title_id == title.id)) or 0
    hold = Hold(patron_id=patron.id, title_id=title.id, queue_seq=last + 1, state=HoldState.waiting, created_at=now)
    session.add(hold)
    history.record_event(session, "hold", title.id, patron, now, channel=channel)
    session.flush()
    return hold


def _patron_hold(session: Session, patron: Patron, hold_id: int) -> Hold:
    """The patron's hold, read under its title's lock."""
    locked = locks.lock_title_of(session, Hold, hold_id)
    hold = session.scalars(select(Hold).where(Hold.id == hold_id).execution_options(populate_existing=True)).one_or_none() if locked else None
    if hold is None or hold.patron_id != patron.id:
        raise HoldNotFound()
    return hold


def cancel_hold(session: Session, patron: Patron, hold_id: int, *, now: datetime | None = None, cipher: DataCipher | None = None) -> None:
    """Leave the waitlist; a copy reserved for this hold passes to the next patron."""
    now = now or utcnow()
    hold = _patron_hold(session, patron, hold_id)
    title_id = hold.title_id
    session.delete(hold)
    history.record_event(session, "hold-cancel", title_id, patron, now)
    session.flush()
    promote_holds(session, title_id, now, cipher)


def suspend_hold(
    session: Session, patron: Patron, hold_id: int, until: date, *, now: datetime | None = None, cipher: DataCipher | None = None
) -> Hold:
    """Pause a hold until a date without losing its place; it resumes by itself on that day."""
    now = now or utcnow()
    today = policy.tokyo_today(now)
    if not isinstance(until, date) or until <= today:
        raise InvalidInput("再開日は明日以降の日付にしてください。", "The resume date must be in the future.", field="until")
    if until > today + timedelta(days=MAX_SUSPEND_DAYS):
        raise InvalidInput("休止できるのは1年以内です。", "A hold can be suspended for at most a year.", field="until")
    hold = _patron_hold(session, patron, hold_id)
    hold.state = HoldState.suspended
    hold.suspended_until = datetime.combine(until, time(0), tzinfo=policy.TOKYO)
    hold.license_id = None  # a ready copy goes to the next patron
    hold.ready_until = None
    session.flush()
    promote_holds(session, hold.title_id, now, cipher)
    return hold


def resume_hold(session: Session, patron: Patron, hold_id: int, *, now: datetime | None = None, cipher: DataCipher | None = None) -> Hold:
    """Resume a suspended hold at its old place in the queue."""
    now = now or utcnow()
    hold = _patron_hold(session, patron, hold_id)
    if hold.state == HoldState.suspended:
        hold.state = HoldState.waiting
        hold.suspended_until = None
        session.flush()
        promote_holds(session, hold.title_id, now, cipher)
    return hold




def lapse_hold(session: Session, hold: Hold, now: datetime) -> None:
    """A ready hold not borrowed in time ends (the caller holds the title lock and promotes next)."""
    patron = session.get(Patron, hold.patron_id)
    history.record_event(session, "hold-lapsed", hold.title_id, patron, now)
    session.delete(hold)
    session.flush()
