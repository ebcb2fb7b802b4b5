"""A title nobody could read is not lent; the wait for a hold is told as an honest range."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from elibrary.db import utcnow
from elibrary.lending import services
from elibrary.lending.availability import available_map
from elibrary.lending.errors import NoBookFile
from elibrary.lending.models import Loan
from tests.lending.factories import make_licensed_title, make_patron, make_title


def test_a_title_without_a_readable_file_is_not_lent_and_says_why(db_session):
    title = make_licensed_title(db_session, "one-copy", None, with_file=False)
    patron = make_patron(db_session)
    with pytest.raises(NoBookFile) as refused:
        services.borrow(db_session, patron, title.id)
    assert "ファイル" in refused.value.message_ja
    assert db_session.scalar(select(func.count()).select_from(Loan)) == 0
    with pytest.raises(NoBookFile):
        services.place_hold(db_session, patron, title.id)
    info = services.availability(db_session, title.id, patron)
    assert info.lendable and not info.has_file and not info.available


def test_an_open_title_without_a_file_is_not_available(db_session):
    title = make_licensed_title(db_session, "open", with_file=False)
    info = services.availability(db_session, title.id)
    assert info.is_open and not info.available


def test_the_search_facet_says_available_only_when_a_copy_can_be_borrowed_now(db_session):
    now = utcnow()
    lent, reserved, untouched = (make_licensed_title(db_session, "one-copy", None) for _ in range(3))
    no_file = make_licensed_title(db_session, "open", with_file=False)
    free, open_title = make_licensed_title(db_session, "concurrent", 2), make_licensed_title(db_session, "open")
    first, second = make_patron(db_session), make_patron(db_session)
    services.borrow(db_session, first, lent.id, now=now)
    loan = services.borrow(db_session, first, reserved.id, now=now)
    services.place_hold(db_session, second, reserved.id, now=now)
    services.return_loan(db_session, first, loan.id, now=now)  # the copy is kept for the hold: free of loans, still not available
    metered = make_title(db_session)
    services.add_license(db_session, metered.id, "metered-loans", copies=2, loans=1, now=now)
    services.return_loan(db_session, first, services.borrow(db_session, first, metered.id, now=now).id, now=now)  # its one loan spent
    services.borrow(db_session, first, free.id, now=now)
    ids = [lent.id, reserved.id, metered.id, no_file.id, free.id, open_title.id, untouched.id]
    shown = {title_id: fields["available"] for title_id, fields in available_map(db_session, ids, now).items()}
    assert shown == {lent.id: False, reserved.id: False, metered.id: False, no_file.id: False, free.id: True, open_title.id: True,
                     untouched.id: True}
    assert shown == {title_id: services.availability(db_session, title_id, now=now).available for title_id in ids}


def _one_copy_lent_for_14_days(db_session, now, *, past_loan_days: float | None, **terms):
    title = make_licensed_title(db_session, "one-copy", None, **terms)
    if past_loan_days is not None:
        for _ in range(3):
            reader = make_patron(db_session)
            loan = services.borrow(db_session, reader, title.id, now=now - timedelta(days=20))
            services.return_loan(db_session, reader, loan.id, now=now - timedelta(days=20) + timedelta(days=past_loan_days))
    services.borrow(db_session, make_patron(db_session), title.id, now=now)  # citizen: 14 days
    waiting = make_patron(db_session)
    services.place_hold(db_session, waiting, title.id, now=now)
    return services.availability(db_session, title.id, waiting, now=now).wait


def test_one_copy_just_lent_for_14_days_waits_up_to_14_days(db_session):
    now = utcnow()
    wait = _one_copy_lent_for_14_days(db_session, now, past_loan_days=1)
    assert wait.low == timedelta(days=1)  # what past returns suggest
    assert wait.high == timedelta(days=14)  # the loan may run to its due date
    assert (wait.low_days, wait.high_days) == (1, 14)
    assert not wait.ends_before_turn and not wait.may_end_first


def test_without_history_the_short_end_is_the_loan_period(db_session):
    now = utcnow()
    wait = _one_copy_lent_for_14_days(db_session, now, past_loan_days=None)
    assert wait.low == wait.high == timedelta(days=14)


def test_holds_ahead_add_full_turns_to_the_long_end(db_session):
    now = utcnow()
    title = make_licensed_title(db_session, "one-copy", None)
    services.borrow(db_session, make_patron(db_session), title.id, now=now)
    first, second = make_patron(db_session), make_patron(db_session)
    services.place_hold(db_session, first, title.id, now=now)
    services.place_hold(db_session, second, title.id, now=now)
    wait = services.availability(db_session, title.id, second, now=now).wait
    # the loan runs 14 days, then the first hold may keep the copy 3 days and borrow it for the longest period (teachers: 21)
    assert wait.high == timedelta(days=14 + 3 + 21)
    assert wait.low <= wait.high


def test_a_licence_ending_before_the_turn_is_said_instead_of_an_estimate(db_session):
    now = utcnow()
    until = date.today() + timedelta(days=5)
    wait = _one_copy_lent_for_14_days(db_session, now, past_loan_days=None, until=until)
    assert wait.ends_before_turn
    assert wait.license_ends_at is not None


def test_a_licence_ending_within_the_range_is_a_warning(db_session):
    now = utcnow()
    until = date.today() + timedelta(days=7)
    wait = _one_copy_lent_for_14_days(db_session, now, past_loan_days=1, until=until)
    assert not wait.ends_before_turn and wait.may_end_first
