"""The outbox keeps personal data only as long as it serves: delivered messages are erased after the retention."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import select, update

from elibrary.db import utcnow
from elibrary.notify.base import Message
from elibrary.notify.models import OutboxMessage
from elibrary.notify.outbox import MAX_ATTEMPTS, enqueue, purge_old
from tests.slow_work import SlowWork


def _queue(rt, *kinds: str) -> list[int]:
    with rt.db.scope() as session:
        rows = [enqueue(session, rt.cipher, Message("email", f"{kind}@example.jp", "件名", "本文", kind=kind)) for kind in kinds]
        session.flush()
        return [row.id for row in rows]


def test_delivered_messages_go_after_the_retention_given_up_ones_later_retried_ones_never(rt):
    delivered, given_up, retrying = _queue(rt, "hold-ready", "due-soon", "confirm-email")  # delivered after commit
    assert [m.kind for m in rt.notifier.sent] == ["hold-ready", "due-soon", "confirm-email"]
    with rt.db.scope() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == given_up).values(sent_at=None, attempts=MAX_ATTEMPTS, last_error="550"))
        session.execute(update(OutboxMessage).where(OutboxMessage.id == retrying).values(sent_at=None, attempts=2, created_at=utcnow() - timedelta(days=90)))
    now = utcnow()

    def remaining(when, **days) -> list[int]:
        with rt.db.scope() as session:
            purge_old(session, when, **days)
        with rt.db.scope() as session:
            return sorted(session.scalars(select(OutboxMessage.id)))

    assert remaining(now + timedelta(days=6)) == [delivered, given_up, retrying]
    assert remaining(now + timedelta(days=8)) == [given_up, retrying]  # 7 days after delivery
    assert remaining(now + timedelta(days=29)) == [given_up, retrying]  # kept 30 days for staff to see why
    assert remaining(now + timedelta(days=31)) == [retrying]  # still being retried: never erased here


def test_retention_is_a_setting(rt):
    (delivered,) = _queue(rt, "hold-ready")
    with rt.db.scope() as session:
        assert purge_old(session, utcnow() + timedelta(hours=1), sent_days=1) == 0
        assert purge_old(session, utcnow() + timedelta(days=1, hours=1), sent_days=1) == 1
        assert session.get(OutboxMessage, delivered) is None


def test_a_delivered_message_keeps_no_address_or_text_and_key_rotation_passes_over_it(rt, app):
    from elibrary.security.keys import rotate

    (delivered,) = _queue(rt, "hold-ready")
    with rt.db.scope() as session:
        later = enqueue(session, rt.cipher, Message("email", "later@example.jp", "件名", "本文", kind="due-soon"))
        later.deliver_after = utcnow() + timedelta(days=1)  # not due: stays with its content
    with rt.db.scope() as session:
        sent = session.get(OutboxMessage, delivered)
        assert sent.sent_at is not None and (sent.address_enc, sent.subject_enc, sent.body_enc) == (b"", b"", b"")
        assert sent.kind == "hold-ready"
        assert rt.cipher.decrypt(session.get(OutboxMessage, later.id).address_enc, "outbox.address") == "later@example.jp"
    assert rotate(rt.db, app.config, app.instance_path, environ={}).version == 2


def test_a_write_never_waits_while_messages_are_sent(rt, monkeypatch):
    """Sending goes over the network (an SMTP server, LINE), which may take seconds or time out: it happens
    outside any transaction, so other requests' writes go on. On SQLite, sending inside the outbox's
    transaction held the write lock, and every sign-in and loan waited for the mail server."""
    slow, ids = SlowWork(), []
    monkeypatch.setattr(rt.notifier, "send", slow.wrap(rt.notifier.send))
    seconds, still_sending = slow.write_during(lambda: ids.extend(_queue(rt, "hold-ready")), rt,  # delivered after its commit
                                               update(OutboxMessage).where(OutboxMessage.id == -1).values(attempts=0))
    assert still_sending and seconds < 5, seconds
    assert [m.kind for m in rt.notifier.sent] == ["hold-ready"]
    with rt.db.scope() as session:
        assert session.get(OutboxMessage, ids[0]).sent_at is not None


def _queue_due_later(rt, count: int) -> list[int]:
    """``count`` messages committed without being sent, then made due (as the scheduled job would find them)."""
    with rt.db.scope() as session:
        rows = []
        for n in range(count):
            row = enqueue(session, rt.cipher, Message("email", f"p{n}@example.jp", "件名", f"本文 {n}", kind="due-soon"))
            row.deliver_after = utcnow() + timedelta(days=1)
            rows.append(row)
        session.flush()
        ids = [row.id for row in rows]
    with rt.db.scope() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(deliver_after=utcnow() - timedelta(minutes=1)))
    return ids


def test_two_workers_delivering_at_once_send_each_message_once(rt, monkeypatch):
    ids = _queue_due_later(rt, 12)
    send = rt.notifier.send

    def slow_send(message):
        time.sleep(0.02)  # both workers are sending at the same time
        send(message)

    monkeypatch.setattr(rt.notifier, "send", slow_send)
    workers = [threading.Thread(target=rt.deliver_notifications) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    rt.deliver_notifications()  # a later pass finds nothing left
    assert sorted(m.body for m in rt.notifier.sent) == sorted(f"本文 {n}" for n in range(12))
    with rt.db.scope() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))).all()
        assert all(row.sent_at is not None and row.attempts == 1 for row in rows)


def test_a_slow_pass_gives_back_what_it_could_not_send_before_its_claim_lapses(rt, monkeypatch):
    from elibrary.notify import outbox

    ids = _queue_due_later(rt, 3)
    ticks = iter([0.0, 1.0, outbox.CLAIM.total_seconds() / 2 + 1, outbox.CLAIM.total_seconds()])
    with rt.db.scope() as session:
        claimed = outbox.claim_due(session, rt.cipher, rt.notifier, utcnow())
    with rt.db.scope() as session:  # claimed: no other worker finds them due
        assert outbox.claim_due(session, rt.cipher, rt.notifier, utcnow()) == []
    outcomes = outbox.send_claimed(claimed, rt.notifier, clock=lambda: next(ticks))
    assert [o.status for o in outcomes] == ["sent", "later", "later"] and len(rt.notifier.sent) == 1
    with rt.db.scope() as session:
        assert outbox.record_outcomes(session, outcomes, utcnow()) == 1
    with rt.db.scope() as session:
        rows = {row.id: row for row in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))}
        assert rows[ids[0]].sent_at is not None
        assert [(rows[i].sent_at, rows[i].attempts) for i in ids[1:]] == [(None, 0), (None, 0)]  # given back, no attempt used
    rt.deliver_notifications()  # the next pass sends them
    assert len(rt.notifier.sent) == 3


def test_an_unexpected_error_in_one_send_is_retried_and_the_others_are_recorded_as_sent(rt, monkeypatch):
    ids = _queue_due_later(rt, 3)
    send = rt.notifier.send

    def flaky(message):
        if message.body == "本文 1":
            raise RuntimeError("a bug in a notifier")
        send(message)

    monkeypatch.setattr(rt.notifier, "send", flaky)
    assert rt.deliver_notifications() == 2
    with rt.db.scope() as session:
        rows = {row.id: row for row in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))}
        assert [rows[i].sent_at is not None for i in ids] == [True, False, True]  # the two sent are never sent again
        assert (rows[ids[1]].attempts, rows[ids[1]].last_error) == (1, "RuntimeError") and rows[ids[1]].deliver_after > utcnow()
