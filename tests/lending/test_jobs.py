"""The scheduled pass: expiry, lapsed and resumed holds, notices; one pass at a time across processes."""
from __future__ import annotations

import multiprocessing
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from elibrary.db import Database, utcnow
from elibrary.jobs import Scheduler
from elibrary.lending import jobs, services
from elibrary.lending.models import Hold, HoldState, LendingEvent, Loan
from elibrary.line import recipients
from elibrary.patrons.models import Patron
from tests.lending.factories import make_licensed_title, make_patron


@pytest.fixture
def addresses(monkeypatch):
    """Patrons get an e-mail address where notices look it up (the channel choice in ``line.recipients``)."""
    monkeypatch.setattr(recipients, "notification_address", lambda session, cipher, patron: f"p{patron.id}@example.jp")


def test_pass_expires_loans_moves_the_queue_and_notifies(rt, addresses):
    now = utcnow()
    with rt.db.scope() as session:
        title = make_licensed_title(session, "one-copy", None)
        reader, first, second = (make_patron(session) for _ in range(3))
        services.borrow(session, reader, title.id, now=now)
        services.place_hold(session, first, title.id, now=now)
        services.place_hold(session, second, title.id, now=now)
        ids = title.id, first.id, second.id
    title_id, first_id, second_id = ids

    report = jobs.run_pass(rt.db, rt.cipher, now=now + timedelta(days=13))  # due in 1 day: a reminder
    assert report.due_notices == 1 and report.loans_expired == 0
    assert jobs.run_pass(rt.db, rt.cipher, now=now + timedelta(days=13, hours=1)).due_notices == 0  # sent once

    report = jobs.run_pass(rt.db, rt.cipher, now=now + timedelta(days=14, minutes=1))
    assert (report.loans_expired, report.holds_ready) == (1, 1)
    with rt.db.scope() as session:
        assert session.scalar(select(func.count()).select_from(Loan)) == 0
        assert session.scalar(select(Hold.state).where(Hold.patron_id == first_id)) == HoldState.ready
    sent = [(m.kind, m.channel, m.address) for m in rt.notifier.sent]
    assert sent[0][:2] == ("due-soon", "email") and sent[1:] == [("hold-ready", "email", f"p{first_id}@example.jp")]

    report = jobs.run_pass(rt.db, rt.cipher, now=now + timedelta(days=18))  # not borrowed within 3 days
    assert (report.holds_lapsed, report.holds_ready) == (1, 1)
    with rt.db.scope() as session:
        assert session.scalar(select(Hold.state).where(Hold.patron_id == second_id)) == HoldState.ready
        assert session.scalar(select(func.count()).select_from(Hold).where(Hold.patron_id == first_id)) == 0
    assert rt.notifier.sent[-1].kind == "hold-ready" and rt.notifier.sent[-1].address == f"p{second_id}@example.jp"
    assert "予約の本が借りられます" in rt.notifier.sent[-1].subject


def test_suspended_hold_resumes_by_itself(rt):
    now = utcnow()
    with rt.db.scope() as session:
        title = make_licensed_title(session, "one-copy", None)
        reader, waiting = make_patron(session), make_patron(session)
        loan = services.borrow(session, reader, title.id, now=now)
        hold = services.place_hold(session, waiting, title.id, now=now)
        services.suspend_hold(session, waiting, hold.id, date.today() + timedelta(days=2), now=now)
        services.return_loan(session, reader, loan.id, now=now)
        hold_id = hold.id
    with rt.db.scope() as session:
        assert session.get(Hold, hold_id).state == HoldState.suspended  # a free copy waits, the place is kept
    report = jobs.run_pass(rt.db, rt.cipher, now=now + timedelta(days=3))
    assert report.holds_resumed == 1 and report.holds_ready == 1
    with rt.db.scope() as session:
        assert session.get(Hold, hold_id).state == HoldState.ready


def test_the_lease_lets_one_pass_run_at_a_time(rt):
    now = utcnow()
    assert jobs.take_lease(rt.db, "worker-a", now)
    assert not jobs.take_lease(rt.db, "worker-b", now)
    assert jobs.run_pass(rt.db, rt.cipher, now=now, holder="worker-b").ran is False
    assert jobs.take_lease(rt.db, "worker-b", now + timedelta(seconds=jobs.LEASE_SECONDS + 1))  # a dead holder's lease expires
    jobs.release_lease(rt.db, "worker-b", now)
    assert jobs.take_lease(rt.db, "worker-a", now)


def _scheduler(url: str, cipher_key: str, when, barrier, results) -> None:
    from elibrary.security.crypto import DataCipher

    db = Database(url)
    try:
        barrier.wait(timeout=60)
        report = jobs.run_pass(db, DataCipher(cipher_key), now=when)
        results.put((report.ran, report.loans_expired))
    except Exception as exc:
        results.put(("crash", repr(exc)))
    finally:
        db.dispose()


@pytest.mark.slow
def test_two_schedulers_at_once_never_process_twice(rt, database_url):
    now = utcnow()
    with rt.db.scope() as session:
        for _ in range(6):
            title = make_licensed_title(session, "concurrent", 3)
            for _ in range(3):
                services.borrow(session, make_patron(session), title.id, now=now)
    rt.db.dispose()
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    key = rt.settings["ELIBRARY_DATA_KEY"]
    processes = [ctx.Process(target=_scheduler, args=(database_url, key, now + timedelta(days=15), barrier, results)) for _ in range(4)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert all(ran in (True, False) for ran, _ in outcomes), outcomes
    assert sum(expired for _, expired in outcomes) == 18
    with rt.db.scope() as session:
        assert session.scalar(select(func.count()).select_from(LendingEvent).where(LendingEvent.kind == "expire")) == 18
        assert session.scalar(select(func.count()).select_from(Loan)) == 0


def test_scheduler_thread_runs_passes(rt):
    now = utcnow()
    with rt.db.scope() as session:
        title = make_licensed_title(session, "concurrent", 1)
        loan = services.borrow(session, make_patron(session), title.id, now=now - timedelta(days=20))
        loan.due_at = now - timedelta(minutes=1)
    scheduler = Scheduler(rt, tick=1)  # the in-process scheduler of the job registry
    scheduler.ensure_started()
    scheduler.ensure_started()  # idempotent in one process
    try:
        import time

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with rt.db.scope() as session:
                if session.scalar(select(func.count()).select_from(Loan)) == 0:
                    break
            time.sleep(0.2)
    finally:
        scheduler.stop()
    with rt.db.scope() as session:
        assert session.scalar(select(func.count()).select_from(Loan)) == 0


def test_jobs_run_command(runner, rt):
    with rt.db.scope() as session:
        title = make_licensed_title(session, "concurrent", 1)
        loan = services.borrow(session, make_patron(session), title.id)
        loan.due_at = utcnow() - timedelta(minutes=1)
    result = runner.invoke(args=["jobs", "run"])
    assert result.exit_code == 0, result.output
    assert "loans expired 1" in result.output
    with rt.db.scope() as session:
        assert session.scalar(select(func.count()).select_from(Loan)) == 0
        assert session.get(Patron, 1) is not None
