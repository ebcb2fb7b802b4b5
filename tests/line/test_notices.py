"""LINE notices through the outbox and the fake LINE API: channels, retry keys, quiet hours, 429, blocks, quota."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from elibrary.db import utcnow
from elibrary.line import linking
from elibrary.line.models import LineLink
from elibrary.line.recipients import messages_for, set_preference
from elibrary.notify.models import OutboxMessage
from elibrary.notify.outbox import MAX_ATTEMPTS, enqueue
from elibrary.patrons.models import Patron
from elibrary.patrons.services import add_local_patron, set_email

NOON_JST = datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc)  # 12:00 in Tokyo
LINE_USER = "U" + "1" * 32
TITLE = "ないしょの本"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "ELIBRARY_NOTIFIER": "line", "ELIBRARY_NOTIFIER_EMAIL": "memory"}


@pytest.fixture
def clock(rt):
    now = {"at": NOON_JST}
    rt.notifier.clock = lambda: now["at"]
    return now


def _patron(rt, channel="line", email="reader@example.jp", include_titles=False, linked=True):
    with rt.db.scope() as session:
        patron = add_local_patron(session, rt.cipher, "55501234", "pass-1234")
        set_email(patron, rt.cipher, email)
        set_preference(session, patron.id, channel, include_titles)
        if linked:
            linking.link(session, rt.cipher, patron, LINE_USER)
        return patron.id


def _notify(rt, patron_id, kind="hold-ready"):
    with rt.db.scope() as session:
        patron = session.get(Patron, patron_id)
        for message in messages_for(session, rt.cipher, patron, kind=kind, subject=f"予約の本: {TITLE}", body=f"「{TITLE}」が借りられます。"):
            enqueue(session, rt.cipher, message)


def _rows(rt):
    with rt.db.scope(write=False) as session:
        return session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_push_has_retry_key_and_no_title_or_card(rt, fake_line, clock):
    patron_id = _patron(rt)
    _notify(rt, patron_id)
    assert len(fake_line.pushes) == 1
    push = fake_line.pushes[0]
    assert push["body"]["to"] == LINE_USER
    assert push["headers"]["Authorization"] == "Bearer test-channel-token"
    assert len(push["headers"]["X-Line-Retry-Key"]) == 36
    text = push["body"]["messages"][0]["text"]
    assert "予約していた本が借りられるようになりました" in text
    assert TITLE not in text and "55501234" not in text
    assert rt.notifier.email.sent == []  # LINE only, as chosen
    assert _rows(rt)[0].sent_at is not None


def test_opted_in_patron_gets_the_title_and_both_channels(rt, fake_line, clock):
    patron_id = _patron(rt, channel="both", include_titles=True)
    _notify(rt, patron_id)
    assert TITLE in fake_line.pushes[0]["body"]["messages"][0]["text"]
    assert [m.channel for m in rt.notifier.email.sent] == ["email"]


def test_email_only_patron_gets_no_push(rt, fake_line, clock):
    patron_id = _patron(rt, channel="email")
    _notify(rt, patron_id)
    assert fake_line.pushes == [] and len(rt.notifier.email.sent) == 1


def test_a_retry_reuses_the_key_and_is_never_sent_twice(rt, fake_line, clock):
    patron_id = _patron(rt)
    fake_line.push_responses.append((500, {"message": "internal"}))
    _notify(rt, patron_id)
    row = _rows(rt)[0]
    assert row.sent_at is None and row.attempts == 1 and fake_line.pushes == []
    with rt.db.scope() as session:  # due again now
        session.get(OutboxMessage, row.id).deliver_after = utcnow() - timedelta(minutes=1)
    rt.deliver_notifications()
    assert len(fake_line.pushes) == 1
    first_key = fake_line.pushes[0]["headers"]["X-Line-Retry-Key"]
    with rt.db.scope() as session:  # as if the commit after a successful push had been lost, and its claim had lapsed
        again = session.get(OutboxMessage, row.id)
        again.sent_at, again.deliver_after = None, utcnow() - timedelta(minutes=1)
        again.address_enc, again.subject_enc, again.body_enc = (
            rt.cipher.encrypt(LINE_USER, "outbox.address"), rt.cipher.encrypt("s", "outbox.subject"), rt.cipher.encrypt("b", "outbox.body"))
    rt.deliver_notifications()
    assert len(fake_line.pushes) == 1  # LINE answered 409 for the same key: counted as sent, not sent twice
    assert first_key in fake_line.seen_retry_keys and _rows(rt)[0].sent_at is not None


def test_quiet_hours_wait_until_morning_without_using_an_attempt(rt, fake_line, clock):
    clock["at"] = datetime(2026, 12, 7, 13, 30, tzinfo=timezone.utc)  # 22:30 in Tokyo
    patron_id = _patron(rt)
    _notify(rt, patron_id)
    row = _rows(rt)[0]
    assert fake_line.pushes == [] and row.attempts == 0
    assert row.deliver_after == datetime(2026, 12, 7, 23, 0, tzinfo=timezone.utc)  # 08:00 the next morning


def test_rate_limit_backs_off_as_told(rt, fake_line, clock):
    patron_id = _patron(rt)
    fake_line.push_responses.append((429, {"message": "Too many requests"}))
    _notify(rt, patron_id)
    row = _rows(rt)[0]
    assert row.sent_at is None and row.attempts == 0
    assert row.deliver_after == NOON_JST + timedelta(seconds=60)


def test_blocked_user_stops_pushes_and_falls_back_to_email(rt, fake_line, clock):
    patron_id = _patron(rt)
    fake_line.push_responses.append((403, {"message": "The user has blocked this account"}))
    _notify(rt, patron_id)
    row = _rows(rt)[0]
    assert row.attempts == MAX_ATTEMPTS and row.sent_at is None
    with rt.db.scope(write=False) as session:
        assert session.scalar(select(LineLink.blocked_at)) is not None
    _notify(rt, patron_id, kind="due-soon")
    assert fake_line.pushes == []
    assert [m.kind for m in rt.notifier.email.sent] == ["due-soon"]


def test_quota_used_up_goes_to_email_and_alerts_admins_once(rt, fake_line, clock):
    from elibrary.staff.services import add_staff

    with rt.db.scope() as session:
        add_staff(session, "admin@city.example.jp", "admin", None)
    patron_id = _patron(rt)
    quota = (429, {"message": "You have reached your monthly limit."})
    fake_line.push_responses.extend([quota, quota])
    _notify(rt, patron_id)
    rt.deliver_notifications()  # the rerouted e-mail and the alert, queued by the first pass
    _notify(rt, patron_id, kind="due-soon")
    rt.deliver_notifications()
    sent = rt.notifier.email.sent
    assert [m.address for m in sent if m.kind == "line-quota-alert"] == ["admin@city.example.jp"]
    to_patron = [m for m in sent if m.address == "reader@example.jp"]
    assert sorted(m.kind for m in to_patron) == ["due-soon", "hold-ready"]
    assert all(TITLE not in m.body for m in to_patron)  # the LINE text went out, still without the title
    assert fake_line.pushes == []


# Identical notices by multicast -----------------------------------------------------------------------------


def _linked_patrons(rt, count):
    """``count`` LINE-only patrons without titles in their notices: their hold-ready texts are identical."""
    users = []
    with rt.db.scope() as session:
        for n in range(count):
            patron = add_local_patron(session, rt.cipher, f"6660{n:04d}", "pass-1234")
            set_preference(session, patron.id, "line", False)
            user = "U" + f"{n:x}".rjust(32, "a")
            linking.link(session, rt.cipher, patron, user)
            users.append((patron.id, user))
    return users


def _notify_all(rt, patron_ids, kind="hold-ready"):
    with rt.db.scope() as session:  # one transaction: delivered together after it commits
        for patron_id in patron_ids:
            patron = session.get(Patron, patron_id)
            for message in messages_for(session, rt.cipher, patron, kind=kind, subject=f"予約の本: {TITLE}", body=f"「{TITLE}」が借りられます。"):
                enqueue(session, rt.cipher, message)


def test_identical_notices_go_out_as_one_multicast(rt, fake_line, clock):
    patrons = _linked_patrons(rt, 3)
    _notify_all(rt, [p for p, _ in patrons])
    assert [push["path"] for push in fake_line.pushes] == ["/v2/bot/message/multicast"]
    body = fake_line.pushes[0]["body"]
    assert sorted(body["to"]) == sorted(user for _, user in patrons)
    assert TITLE not in body["messages"][0]["text"]
    rows = _rows(rt)
    assert all(row.sent_at is not None and row.batch_key is None and row.body_enc == b"" for row in rows)


def test_different_texts_are_pushed_one_by_one(rt, fake_line, clock):
    patrons = _linked_patrons(rt, 2)
    _notify_all(rt, [patrons[0][0]], kind="hold-ready")
    _notify_all(rt, [patrons[1][0]], kind="due-soon")
    assert [push["path"] for push in fake_line.pushes] == ["/v2/bot/message/push"] * 2


def test_a_failed_multicast_is_retried_as_the_same_batch_with_the_same_key(rt, fake_line, clock):
    patrons = _linked_patrons(rt, 4)
    fake_line.push_responses.append((500, {"message": "internal"}))
    _notify_all(rt, [p for p, _ in patrons[:3]])
    rows = _rows(rt)
    assert fake_line.pushes == [] and len({row.batch_key for row in rows}) == 1 and rows[0].batch_key
    with rt.db.scope() as session:
        for row in rows:
            session.get(OutboxMessage, row.id).deliver_after = utcnow() - timedelta(minutes=1)
    _notify_all(rt, [patrons[3][0]])  # a fourth identical notice does not join the batch being retried
    multicasts = [push for push in fake_line.pushes if push["path"].endswith("multicast")]
    assert len(multicasts) == 1 and sorted(multicasts[0]["body"]["to"]) == sorted(user for _, user in patrons[:3])
    assert [push["body"]["to"] for push in fake_line.pushes if push["path"].endswith("push")] == [patrons[3][1]]
    assert all(row.sent_at is not None for row in _rows(rt))


def test_the_same_batch_key_is_the_same_retry_key_so_line_never_delivers_twice(rt, fake_line, clock):
    from elibrary.notify.base import Message

    messages = [Message("line", user, "s", "同じ文", kind="hold-ready") for _, user in _linked_patrons(rt, 2)]
    rt.notifier.send_identical(messages, "batch-1")
    rt.notifier.send_identical(messages, "batch-1")  # as if the commit after the first had been lost
    assert len(fake_line.pushes) == 1


def test_a_multicast_refused_for_one_recipient_is_sent_one_by_one(rt, fake_line, clock):
    patrons = _linked_patrons(rt, 2)
    fake_line.push_responses.extend([(400, {"message": "The property, 'to[1]', in the request body is invalid"}), (200, {}), (403, {"message": "blocked"})])
    _notify_all(rt, [p for p, _ in patrons])
    rows = _rows(rt)
    assert [push["body"]["to"] for push in fake_line.pushes] == [patrons[0][1]]
    assert rows[0].sent_at is not None and rows[1].attempts == MAX_ATTEMPTS


def test_multicast_waits_for_the_morning_in_quiet_hours(rt, fake_line, clock):
    clock["at"] = datetime(2026, 12, 7, 13, 30, tzinfo=timezone.utc)  # 22:30 in Tokyo
    _notify_all(rt, [p for p, _ in _linked_patrons(rt, 3)])
    assert fake_line.pushes == [] and all(row.attempts == 0 and row.batch_key for row in _rows(rt))
