"""Borrowing, returning, renewing and holds: the rules, and every refusal changing nothing."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from elibrary.db import utcnow
from elibrary.errors import InvalidInput, NotFound
from elibrary.lending import services
from elibrary.lending.errors import (
    AlreadyBorrowed,
    HoldNotFound,
    HoldRefused,
    InvalidLicense,
    LimitReached,
    LoanNotFound,
    NotAvailable,
    NotLendable,
    PatronNotAllowed,
    RenewalRefused,
)
from elibrary.lending.models import Hold, HoldState, LendingEvent, License, Loan
from tests.lending.factories import make_licensed_title, make_patron, make_title


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_borrow_sets_due_date_from_the_category_and_uses_a_copy(db_session):
    title = make_licensed_title(db_session, "concurrent", 2)
    patron = make_patron(db_session)
    before = utcnow()
    loan = services.borrow(db_session, patron, title.id)
    assert timedelta(days=13, hours=23) < loan.due_at - before <= timedelta(days=14, seconds=5)
    info = services.availability(db_session, title.id, patron)
    assert (info.copies_total, info.copies_available, info.loan.id) == (2, 1, loan.id)
    assert services.active_loan(db_session, patron.id, title.id).id == loan.id


def test_teacher_loans_are_longer_and_licence_caps_the_period(db_session):
    title = make_licensed_title(db_session, "concurrent", 2, loan_days=7)
    teacher = make_patron(db_session, category="teacher")
    loan = services.borrow(db_session, teacher, title.id)
    assert loan.due_at - loan.started_at == timedelta(days=7)
    other = make_licensed_title(db_session, "concurrent", 2)
    assert services.borrow(db_session, teacher, other.id).due_at - utcnow() > timedelta(days=20)


def test_due_date_never_passes_the_licence_end(db_session):
    now = utcnow()
    title = make_title(db_session)
    lic = services.add_license(db_session, title.id, "metered-time", copies=1, until=now + timedelta(days=3), now=now)
    loan = services.borrow(db_session, make_patron(db_session), title.id, now=now)
    assert loan.due_at == lic.valid_until


def test_borrowing_twice_is_refused_and_changes_nothing(db_session):
    title = make_licensed_title(db_session, "concurrent", 3)
    patron = make_patron(db_session)
    services.borrow(db_session, patron, title.id)
    with pytest.raises(AlreadyBorrowed) as err:
        services.borrow(db_session, patron, title.id)
    assert "すでに借りています" in err.value.message_ja and "already" in err.value.message_en
    assert count(db_session, Loan) == 1


def test_no_free_copy_means_not_available_and_a_hold_is_possible(db_session):
    title = make_licensed_title(db_session, "one-copy", None)
    services.borrow(db_session, make_patron(db_session), title.id)
    late = make_patron(db_session)
    with pytest.raises(NotAvailable):
        services.borrow(db_session, late, title.id)
    hold = services.place_hold(db_session, late, title.id)
    assert services.availability(db_session, title.id, late).position == 1
    assert hold.state == HoldState.waiting


def test_return_of_someone_elses_loan_is_refused(db_session):
    title = make_licensed_title(db_session)
    owner, other = make_patron(db_session), make_patron(db_session)
    loan = services.borrow(db_session, owner, title.id)
    with pytest.raises(LoanNotFound):
        services.return_loan(db_session, other, loan.id)
    with pytest.raises(LoanNotFound):
        services.renew(db_session, other, loan.id)
    assert db_session.get(Loan, loan.id) is not None


def test_a_stale_page_posting_to_a_returned_loan_gets_a_clear_message(db_session):
    title = make_licensed_title(db_session)
    patron = make_patron(db_session)
    loan = services.borrow(db_session, patron, title.id)
    services.return_loan(db_session, patron, loan.id)
    with pytest.raises(LoanNotFound) as err:
        services.return_loan(db_session, patron, loan.id)
    assert "返却済み" in err.value.message_ja
    with pytest.raises(LoanNotFound):
        services.renew(db_session, patron, loan.id)


def test_renew_only_when_nobody_waits_and_renewals_remain(db_session):
    title = make_licensed_title(db_session, "one-copy", None)
    patron = make_patron(db_session)
    loan = services.borrow(db_session, patron, title.id)
    old_due = loan.due_at
    renewed = services.renew(db_session, patron, loan.id, now=utcnow() + timedelta(days=10))
    assert renewed.due_at > old_due and renewed.renewals == 1
    with pytest.raises(RenewalRefused) as err:  # citizens renew once
        services.renew(db_session, patron, loan.id, now=utcnow() + timedelta(days=12))
    assert err.value.detail["reason"] == "no-renewals-left"

    other_title = make_licensed_title(db_session, "one-copy", None)
    loan2 = services.borrow(db_session, patron, other_title.id)
    services.place_hold(db_session, make_patron(db_session), other_title.id)
    due = loan2.due_at
    with pytest.raises(RenewalRefused) as err:
        services.renew(db_session, patron, loan2.id)
    assert err.value.detail["reason"] == "holds" and "予約" in err.value.message_ja
    assert db_session.get(Loan, loan2.id).due_at == due and db_session.get(Loan, loan2.id).renewals == 0


def test_hold_on_an_available_title_is_refused(db_session):
    title = make_licensed_title(db_session, "concurrent", 2)
    patron = make_patron(db_session)
    with pytest.raises(HoldRefused) as err:
        services.place_hold(db_session, patron, title.id)
    assert err.value.detail["reason"] == "available"
    assert count(db_session, Hold) == 0


def test_hold_twice_or_on_own_loan_is_refused(db_session):
    title = make_licensed_title(db_session, "one-copy", None)
    holder, waiting = make_patron(db_session), make_patron(db_session)
    services.borrow(db_session, holder, title.id)
    with pytest.raises(HoldRefused):
        services.place_hold(db_session, holder, title.id)
    services.place_hold(db_session, waiting, title.id)
    with pytest.raises(HoldRefused):
        services.place_hold(db_session, waiting, title.id)
    assert count(db_session, Hold) == 1


def test_zero_copy_and_past_dated_licences_are_refused(db_session):
    title = make_title(db_session)
    with pytest.raises(InvalidLicense):
        services.add_license(db_session, title.id, "concurrent", copies=0)
    with pytest.raises(InvalidLicense):
        services.add_license(db_session, title.id, "metered-time", copies=2, until=date.today() - timedelta(days=1))
    with pytest.raises(InvalidLicense):
        services.add_license(db_session, title.id, "metered-loans", copies=1)  # no loan count
    with pytest.raises(InvalidLicense):
        services.add_license(db_session, title.id, "one-copy", copies=3)
    with pytest.raises(InvalidLicense):
        services.add_license(db_session, title.id, "lease")
    assert count(db_session, License) == 0
    with pytest.raises(NotLendable):
        services.borrow(db_session, make_patron(db_session), title.id)


def test_suspend_with_a_past_date_is_refused(db_session):
    title = make_licensed_title(db_session, "one-copy", None)
    services.borrow(db_session, make_patron(db_session), title.id)
    patron = make_patron(db_session)
    hold = services.place_hold(db_session, patron, title.id)
    with pytest.raises(InvalidInput):
        services.suspend_hold(db_session, patron, hold.id, date.today() - timedelta(days=1))
    assert db_session.get(Hold, hold.id).state == HoldState.waiting


def test_licence_choice_spends_soonest_expiry_then_fewest_loans_left(db_session):
    now = utcnow()
    title = make_title(db_session)
    forever = services.add_license(db_session, title.id, "concurrent", copies=5, now=now)
    many = services.add_license(db_session, title.id, "metered-loans", copies=5, loans=50, now=now)
    few = services.add_license(db_session, title.id, "metered-loans", copies=5, loans=3, now=now)
    soon = services.add_license(db_session, title.id, "metered-time", copies=1, until=now + timedelta(days=30), now=now)
    picks = [services.borrow(db_session, make_patron(db_session), title.id, now=now).license_id for _ in range(6)]
    assert picks == [soon.id, few.id, few.id, few.id, many.id, many.id]
    assert db_session.get(License, few.id).loans_remaining == 0
    assert forever.id not in picks


def test_exhausted_and_expired_licences_stop_lending_and_say_why(db_session):
    now = utcnow()
    title = make_title(db_session)
    services.add_license(db_session, title.id, "metered-loans", copies=2, loans=1, now=now)
    first = make_patron(db_session)
    loan = services.borrow(db_session, first, title.id, now=now)
    services.return_loan(db_session, first, loan.id, now=now)
    with pytest.raises(NotLendable):
        services.borrow(db_session, make_patron(db_session), title.id, now=now)
    info = services.availability(db_session, title.id, now=now)
    assert not info.lendable and info.licenses[0].stop_reason[1] == "all licensed loans have been used"

    timed = make_title(db_session)
    services.add_license(db_session, timed.id, "metered-time", copies=1, until=now + timedelta(days=1), now=now)
    later = now + timedelta(days=2)
    assert services.availability(db_session, timed.id, now=later).licenses[0].stop_reason[1] == "the licence has expired"
    with pytest.raises(NotLendable):
        services.borrow(db_session, make_patron(db_session), timed.id, now=later)


def test_blocked_and_expired_patrons_are_told_why(db_session):
    title = make_licensed_title(db_session)
    blocked = make_patron(db_session, blocked=True, block_reason="延滞資料あり")
    with pytest.raises(PatronNotAllowed) as err:
        services.borrow(db_session, blocked, title.id)
    assert "延滞資料あり" in err.value.message_ja and err.value.detail["reason"] == "blocked"
    expired = make_patron(db_session, expires_on=date.today() - timedelta(days=2))
    with pytest.raises(PatronNotAllowed) as err:
        services.borrow(db_session, expired, title.id)
    assert "有効期限" in err.value.message_ja and "expired" in err.value.message_en
    assert count(db_session, Loan) == 0


def test_category_limits_and_collections(db_session):
    provisional = make_patron(db_session, category="provisional")
    licensed = make_licensed_title(db_session, "concurrent", 3)
    with pytest.raises(PatronNotAllowed) as err:
        services.borrow(db_session, provisional, licensed.id)
    assert err.value.detail["reason"] == "collection"
    open_titles = [make_licensed_title(db_session, "open") for _ in range(2)]
    services.borrow(db_session, provisional, open_titles[0].id)
    with pytest.raises(LimitReached):
        services.borrow(db_session, provisional, open_titles[1].id)

    student = make_patron(db_session, category="student")
    with pytest.raises(PatronNotAllowed):
        services.borrow(db_session, student, licensed.id)
    school_title = make_title(db_session, collections=("school",))
    services.add_license(db_session, school_title.id, "concurrent", copies=30)
    assert services.borrow(db_session, student, school_title.id)


def test_open_titles_are_readable_by_anyone_licensed_only_with_a_loan(db_session):
    open_title = make_licensed_title(db_session, "open")
    licensed = make_licensed_title(db_session)
    patron = make_patron(db_session)
    assert services.can_read(db_session, None, open_title)
    assert not services.can_read(db_session, patron, licensed)
    services.borrow(db_session, patron, licensed.id)
    assert services.can_read(db_session, patron, licensed)
    assert not services.can_read(db_session, make_patron(db_session), licensed)
    with pytest.raises(HoldRefused):
        services.place_hold(db_session, make_patron(db_session), open_title.id)


def test_fifo_queue_ready_window_lapse_and_next(db_session, rt):
    now = utcnow()
    title = make_licensed_title(db_session, "one-copy", None)
    reader = make_patron(db_session)
    loan = services.borrow(db_session, reader, title.id, now=now)
    queue = [make_patron(db_session) for _ in range(3)]
    holds = [services.place_hold(db_session, p, title.id, now=now) for p in queue]
    assert [services.availability(db_session, title.id, p).position for p in queue] == [1, 2, 3]
    services.return_loan(db_session, reader, loan.id, now=now, cipher=rt.cipher)
    first = db_session.get(Hold, holds[0].id)
    assert first.state == HoldState.ready and first.ready_until == now + timedelta(days=3)
    assert first.notified_at is not None  # intent recorded even without an address
    with pytest.raises(NotAvailable):  # the copy is reserved for the first in line
        services.borrow(db_session, queue[2], title.id, now=now)
    services.lapse_hold(db_session, first, now + timedelta(days=4))
    services.promote_holds(db_session, title.id, now + timedelta(days=4))
    assert db_session.get(Hold, holds[1].id).state == HoldState.ready
    assert services.availability(db_session, title.id, queue[2]).position == 2
    loan = services.borrow(db_session, queue[1], title.id, now=now + timedelta(days=4))
    assert db_session.get(Hold, holds[1].id) is None and loan.license_id == title_license(db_session, title.id)
    assert services.availability(db_session, title.id, queue[2]).position == 1


def title_license(session, title_id):
    return session.scalar(select(License.id).where(License.title_id == title_id))


def test_suspended_hold_keeps_its_place_and_is_skipped(db_session):
    now = utcnow()
    title = make_licensed_title(db_session, "one-copy", None)
    reader = make_patron(db_session)
    loan = services.borrow(db_session, reader, title.id, now=now)
    a, b = make_patron(db_session), make_patron(db_session)
    hold_a = services.place_hold(db_session, a, title.id, now=now)
    hold_b = services.place_hold(db_session, b, title.id, now=now)
    services.suspend_hold(db_session, a, hold_a.id, date.today() + timedelta(days=7), now=now)
    services.return_loan(db_session, reader, loan.id, now=now)
    assert db_session.get(Hold, hold_b.id).state == HoldState.ready
    assert db_session.get(Hold, hold_a.id).state == HoldState.suspended
    assert services.availability(db_session, title.id, a).position == 1  # place kept
    services.resume_hold(db_session, a, hold_a.id, now=now)
    assert db_session.get(Hold, hold_a.id).state == HoldState.waiting


def test_cancel_ready_hold_passes_the_copy_on(db_session):
    title = make_licensed_title(db_session, "one-copy", None)
    reader = make_patron(db_session)
    loan = services.borrow(db_session, reader, title.id)
    a, b = make_patron(db_session), make_patron(db_session)
    hold_a = services.place_hold(db_session, a, title.id)
    hold_b = services.place_hold(db_session, b, title.id)
    services.return_loan(db_session, reader, loan.id)
    with pytest.raises(HoldNotFound):
        services.cancel_hold(db_session, b, hold_a.id)
    services.cancel_hold(db_session, a, hold_a.id)
    assert db_session.get(Hold, hold_b.id).state == HoldState.ready
    with pytest.raises(HoldNotFound):
        services.cancel_hold(db_session, a, hold_a.id)


def test_new_licence_serves_waiting_holds(db_session):
    title = make_licensed_title(db_session, "one-copy", None)
    services.borrow(db_session, make_patron(db_session), title.id)
    waiting = make_patron(db_session)
    hold = services.place_hold(db_session, waiting, title.id)
    services.add_license(db_session, title.id, "concurrent", copies=1)
    assert db_session.get(Hold, hold.id).state == HoldState.ready


def test_estimated_wait_learns_from_actual_loan_lengths(db_session):
    now = utcnow()
    title = make_licensed_title(db_session, "one-copy", None)
    for _ in range(3):  # three earlier loans, each returned after 2 days
        p = make_patron(db_session)
        loan = services.borrow(db_session, p, title.id, now=now - timedelta(days=10))
        services.return_loan(db_session, p, loan.id, now=now - timedelta(days=8))
    services.borrow(db_session, make_patron(db_session), title.id, now=now)
    queue = [make_patron(db_session) for _ in range(3)]
    for p in queue:
        services.place_hold(db_session, p, title.id, now=now)
    waits = [services.availability(db_session, title.id, p, now=now).estimated_wait for p in queue]
    assert waits == [timedelta(days=2), timedelta(days=4), timedelta(days=6)]  # not 14, 28, 42


def test_unknown_title_is_not_found(db_session):
    with pytest.raises(NotFound):
        services.borrow(db_session, make_patron(db_session), 999999)


def test_statistics_events_carry_no_patron(db_session):
    title = make_licensed_title(db_session)
    patron = make_patron(db_session, category="teacher")
    loan = services.borrow(db_session, patron, title.id)
    services.return_loan(db_session, patron, loan.id)
    events = db_session.scalars(select(LendingEvent).where(LendingEvent.title_id == title.id)).all()
    assert [(e.kind, e.category) for e in events] == [("borrow", "teacher"), ("return", "teacher")]
    assert not any("patron" in column.name for column in LendingEvent.__table__.columns)


def test_objects_already_in_the_session_follow_borrow_and_return(db_session):
    """borrow and return write with Core SQL: ORM objects the caller holds must not go stale."""
    title = make_licensed_title(db_session, "metered-loans", 1, loans=5)
    license = db_session.scalars(select(License).where(License.title_id == title.id)).one()
    reader, waiting = make_patron(db_session), make_patron(db_session)
    loan = services.borrow(db_session, reader, title.id)
    assert license.loans_remaining == 4 and db_session.get(Loan, loan.id) is loan and loan.license is license
    hold = services.place_hold(db_session, waiting, title.id)
    services.return_loan(db_session, reader, loan.id)
    assert db_session.get(Loan, loan.id) is None and hold.state == HoldState.ready
    second = services.borrow(db_session, waiting, title.id)
    assert db_session.get(Hold, hold.id) is None and license.loans_remaining == 3 and second.license_id == license.id
