"""The outbox keeps personal data only as long as it serves: delivered messages are erased after the retention."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from elibrary.db import utcnow
from elibrary.notify.base import Message
from elibrary.notify.models import OutboxMessage
from elibrary.notify.outbox import MAX_ATTEMPTS, enqueue, purge_old


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
