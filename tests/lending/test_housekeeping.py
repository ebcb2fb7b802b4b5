"""The scheduled pass also erases personal data whose time is up: provisional registrations (仮登録) never
confirmed, and delivered notifications after the outbox retention; from ``run_pass``, ``elibrary jobs run``
and the in-process scheduler alike."""
from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import func, select, update

from elibrary.db import utcnow
from elibrary.jobs import Scheduler
from elibrary.lending import jobs
from elibrary.notify.base import Message
from elibrary.notify.models import OutboxMessage
from elibrary.notify.outbox import enqueue
from elibrary.patrons import registration
from elibrary.patrons.models import Patron, Registration

FORMS = [
    {"name": "山田　花子", "kana": "やまだ はなこ", "birth_date": "2001-04-01", "postal_code": "650-0001",
     "address": "兵庫県神戸市中央区加納町6-5-1", "email": "hanako@example.jp"},
    {"name": "佐藤 次郎", "kana": "さとう じろう", "birth_date": "1990-05-05", "postal_code": "650-0002",
     "address": "兵庫県神戸市中央区北野町1-1", "email": "jiro@example.jp"},
]


def _register(rt) -> int:
    """One registration left unconfirmed, one confirmed by e-mail (a provisional card); the provisional patron's id."""
    policy = registration.RegistrationPolicy()
    with rt.db.scope() as session:
        registration.start(session, rt.cipher, FORMS[0], policy)
        _, token = registration.start(session, rt.cipher, FORMS[1], policy)
    with rt.db.scope() as session:
        patron, _card = registration.confirm(session, rt.cipher, token, "hana2468", policy)
        return patron.id


def _count(rt, model) -> int:
    with rt.db.scope() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_pass_erases_unconfirmed_registrations_and_closes_unverified_provisional_cards(rt):
    patron_id = _register(rt)
    now = utcnow()
    assert jobs.run_pass(rt.db, rt.cipher, now=now + timedelta(days=1), settings=rt.settings).registrations_expired == 0
    report = jobs.run_pass(rt.db, rt.cipher, now=now + timedelta(days=3), settings=rt.settings)  # the link's 48 hours are over
    assert report.registrations_expired == 1 and _count(rt, Registration) == 1
    report = jobs.run_pass(rt.db, rt.cipher, now=now + timedelta(days=15), settings=rt.settings)  # 14 days to come to the counter
    assert report.registrations_expired == 1 and _count(rt, Registration) == 0
    with rt.db.scope() as session:
        patron = session.get(Patron, patron_id)
        assert patron.blocked and patron.name_enc is None and patron.email_enc is None and patron.email_hash is None and patron.pin_hash is None


def test_jobs_run_command_erases_expired_registrations_and_old_notifications(runner, rt):
    _register(rt)
    with rt.db.scope() as session:
        enqueue(session, rt.cipher, Message("email", "hanako@example.jp", "予約の本が借りられます", "本文", kind="hold-ready"))
    assert _count(rt, OutboxMessage) == 1 and rt.notifier.sent  # delivered after commit
    with rt.db.scope() as session:
        session.execute(update(Registration).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.execute(update(OutboxMessage).values(sent_at=utcnow() - timedelta(days=8)))
    result = runner.invoke(args=["jobs", "run"])
    assert result.exit_code == 0, result.output
    assert "registrations expired 2" in result.output and "old notifications erased 1" in result.output
    assert _count(rt, Registration) == 0 and _count(rt, OutboxMessage) == 0


def test_retention_setting_is_used_by_the_pass(rt):
    with rt.db.scope() as session:
        enqueue(session, rt.cipher, Message("email", "a@example.jp", "件名", "本文", kind="hold-ready"))
    later = utcnow() + timedelta(days=2)
    assert jobs.run_pass(rt.db, rt.cipher, now=later, settings=rt.settings).messages_purged == 0  # default: 7 days
    assert jobs.run_pass(rt.db, rt.cipher, now=later, settings={**rt.settings, "ELIBRARY_OUTBOX_RETENTION_DAYS": 1}).messages_purged == 1


def test_the_scheduler_thread_erases_too(rt):
    _register(rt)
    with rt.db.scope() as session:
        enqueue(session, rt.cipher, Message("email", "hanako@example.jp", "件名", "本文", kind="hold-ready"))
    assert _count(rt, OutboxMessage) == 1
    with rt.db.scope() as session:
        session.execute(update(Registration).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.execute(update(OutboxMessage).values(sent_at=utcnow() - timedelta(days=8)))
    scheduler = Scheduler(rt, tick=1)  # the in-process scheduler of the job registry
    scheduler.ensure_started()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (_count(rt, Registration) or _count(rt, OutboxMessage)):
            time.sleep(0.2)
    finally:
        scheduler.stop()
    assert _count(rt, Registration) == 0 and _count(rt, OutboxMessage) == 0
