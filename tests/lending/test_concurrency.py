"""Real processes, each with its own engine, racing for the same copies (SQLite file and PostgreSQL)."""
from __future__ import annotations

import multiprocessing
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from elibrary.db import Database, utcnow
from elibrary.errors import DomainError
from elibrary.lending import jobs, services
from elibrary.lending.errors import LoanNotFound
from elibrary.lending.invariants import queue_positions, violations
from elibrary.lending.models import Hold, HoldState, LendingEvent, Loan
from elibrary.patrons.models import Patron
from tests.lending.factories import make_licensed_title, make_patron

PATRONS = 40
COPIES = 5


def _borrow_or_hold(url: str, patron_id: int, title_id: int, barrier, results) -> None:
    """One patron pressing 借りる (and 予約する if every copy is out), in a process of its own."""
    db = Database(url)
    try:
        barrier.wait(timeout=60)
        try:
            with db.scope() as session:
                services.borrow(session, session.get(Patron, patron_id), title_id)
            results.put(("loan", patron_id))
            return
        except DomainError as exc:
            first_error = exc.code
        try:
            with db.scope() as session:
                services.place_hold(session, session.get(Patron, patron_id), title_id)
            results.put(("hold", first_error))
        except DomainError as exc:
            results.put(("refused", exc.code))
    except Exception as exc:  # reported to the test, never lost
        results.put(("crash", repr(exc)))
    finally:
        db.dispose()


def _return(url: str, patron_id: int, loan_id: int, barrier, results) -> None:
    db = Database(url)
    try:
        barrier.wait(timeout=60)
        with db.scope() as session:
            services.return_loan(session, session.get(Patron, patron_id), loan_id)
        results.put(("returned", patron_id))
    except Exception as exc:
        results.put(("crash", repr(exc)))
    finally:
        db.dispose()


def _race(target, argument_lists):
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(len(argument_lists))
    results = ctx.Queue()
    processes = [ctx.Process(target=target, args=(*args, barrier, results)) for args in argument_lists]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    return outcomes


@pytest.mark.slow
def test_a_class_of_40_borrowing_a_5_copy_title_at_once(rt, database_url):
    with rt.db.scope() as session:
        title_id = make_licensed_title(session, "concurrent", COPIES).id
        patron_ids = [make_patron(session).id for _ in range(PATRONS)]
    rt.db.dispose()  # no pooled connection crosses the fork

    outcomes = _race(_borrow_or_hold, [(database_url, pid, title_id) for pid in patron_ids])

    kinds = [kind for kind, _ in outcomes]
    assert "crash" not in kinds, [detail for kind, detail in outcomes if kind == "crash"]
    assert kinds.count("loan") == COPIES
    assert kinds.count("hold") == PATRONS - COPIES
    assert {detail for kind, detail in outcomes if kind == "hold"} == {"not-available"}
    with rt.db.scope() as session:
        assert len(session.scalars(select(Loan).where(Loan.title_id == title_id)).all()) == COPIES
        seqs = session.scalars(select(Hold.queue_seq).where(Hold.title_id == title_id).order_by(Hold.queue_seq)).all()
        assert seqs == list(range(1, PATRONS - COPIES + 1))  # no place skipped, none duplicated
        assert queue_positions(session, title_id) == list(range(1, PATRONS - COPIES + 1))
        assert violations(session, utcnow()) == []
        loans = [(loan.patron_id, loan.id) for loan in session.scalars(select(Loan).where(Loan.title_id == title_id))]
    rt.db.dispose()

    # Everyone returns at the same moment: the copies go to the first five in the queue, exactly.
    outcomes = _race(_return, [(database_url, pid, loan_id) for pid, loan_id in loans])
    assert [kind for kind, _ in outcomes] == ["returned"] * COPIES, outcomes
    with rt.db.scope() as session:
        ready = session.scalars(select(Hold.queue_seq).where(Hold.title_id == title_id, Hold.state == HoldState.ready).order_by(Hold.queue_seq)).all()
        assert ready == [1, 2, 3, 4, 5]
        assert violations(session, utcnow()) == []


def _end_the_loan(url: str, patron_id: int, loan_id: int, title_id: int, how: str, when, barrier, results) -> None:
    """Return the loan (a stale second tab) or expire it (a scheduler pass), in a process of its own."""
    db = Database(url)
    try:
        barrier.wait(timeout=60)
        with db.scope() as session:
            if how == "return":
                services.return_loan(session, session.get(Patron, patron_id), loan_id, now=when)
            else:
                report = jobs.PassReport()
                jobs.process_title(session, title_id, when, None, report)
                if not report.loans_expired:
                    raise LoanNotFound()
        results.put(("ended", how))
    except DomainError as exc:
        results.put(("refused", exc.code))
    except Exception as exc:
        results.put(("crash", repr(exc)))
    finally:
        db.dispose()


@pytest.mark.slow
def test_one_loan_returned_twice_and_expired_twice_at_once_ends_once(rt, database_url):
    when = utcnow() + timedelta(days=15)  # past due: the scheduler passes would expire it
    with rt.db.scope() as session:
        title_id = make_licensed_title(session, "one-copy", None).id
        reader, waiting = make_patron(session), make_patron(session)
        loan_id = services.borrow(session, reader, title_id, now=when - timedelta(days=15)).id
        services.place_hold(session, waiting, title_id, now=when - timedelta(days=15))
        reader_id, waiting_id = reader.id, waiting.id
    rt.db.dispose()

    ways = ["return", "expire"] * 3
    outcomes = _race(_end_the_loan, [(database_url, reader_id, loan_id, title_id, how, when) for how in ways])

    assert "crash" not in [kind for kind, _ in outcomes], outcomes  # no deadlock, no error
    assert [kind for kind, _ in outcomes].count("ended") == 1, outcomes
    with rt.db.scope() as session:
        assert session.scalar(select(func.count()).select_from(Loan)) == 0
        ended = session.scalars(select(LendingEvent.kind).where(LendingEvent.kind.in_(["return", "expire"]))).all()
        assert len(ended) == 1
        assert session.scalar(select(Hold.state).where(Hold.patron_id == waiting_id)) == HoldState.ready
        assert violations(session, when) == []
