"""Announcements: write, preview, approval before a mass send, LINE multicast in batches, counts, the home page."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from elibrary.announcements import services
from elibrary.announcements.models import Announcement
from elibrary.db import utcnow
from elibrary.line import linking
from elibrary.line.notifier import parse_quiet_hours
from elibrary.patrons.models import Patron
from tests.conftest import csrf_token_for, sign_in_staff
from tests.line.conftest import app_config as line_app_config  # noqa: F401 - LINE on, pointed at the fake
from tests.line.conftest import fake_line  # noqa: F401
from tests.slow_work import SlowWork

NOON_JST = datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def app_config(line_app_config):  # noqa: F811
    return {**line_app_config, "ELIBRARY_LINE_QUIET_HOURS": ""}  # the staff pages send at any hour in these tests


def _linked_patrons(rt, count, category="citizen", start=0):
    with rt.db.scope() as session:
        for n in range(start, start + count):
            card = f"9{n:07d}"
            patron = Patron(card_hash=rt.cipher.lookup_hash(card), card_enc=rt.cipher.encrypt(card, "patron.card"), category=category)
            session.add(patron)
            session.flush()
            linking.link(session, rt.cipher, patron, f"U{n:032x}")


def _approved(rt) -> int:
    """An approved announcement to every LINE friend; returns its id."""
    with rt.db.scope() as session:
        row = Announcement(title="t", body="b", audience="all", audience_value="", show_on_site=False, send_line=True, status="approved")
        session.add(row)
        session.flush()
        return row.id


def _create(client, **fields):
    data = {"title": "年末年始の休館", "body": "12月29日から1月3日まで休館します。", "audience": "all", "show_on_site": "1",
            "send_line": "1", "csrf_token": csrf_token_for(client), **fields}
    response = client.post("/staff/announcements", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(re.search(r"/(\d+)$", response.headers["Location"]).group(1))


def test_librarian_writes_admin_approves_then_it_goes_out(app, rt, fake_line):  # noqa: F811
    _linked_patrons(rt, 3)
    librarian = app.test_client()
    sign_in_staff(librarian, rt, "librarian")
    announcement_id = _create(librarian)
    preview = librarian.get(f"/staff/announcements/{announcement_id}").get_data(as_text=True)
    assert "【年末年始の休館】" in preview and '<span id="recipients">3</span>' in preview
    token = csrf_token_for(librarian)
    librarian.post(f"/staff/announcements/{announcement_id}/submit", data={"csrf_token": token})
    early = librarian.post(f"/staff/announcements/{announcement_id}/send", data={"csrf_token": token})
    assert early.status_code in (303, 409) and fake_line.pushes == []  # not approved: nothing sent
    assert librarian.post(f"/staff/announcements/{announcement_id}/approve", data={"csrf_token": token}).status_code == 403
    assert "年末年始の休館" not in app.test_client().get("/").get_data(as_text=True)  # not on the home page yet

    admin = app.test_client()
    sign_in_staff(admin, rt, "admin")
    admin.post(f"/staff/announcements/{announcement_id}/approve", data={"csrf_token": csrf_token_for(admin)})
    assert "年末年始の休館" in app.test_client().get("/").get_data(as_text=True)
    librarian.post(f"/staff/announcements/{announcement_id}/send", data={"csrf_token": token})
    (push,) = fake_line.pushes
    assert push["path"] == "/v2/bot/message/multicast" and len(push["body"]["to"]) == 3
    assert push["headers"]["X-Line-Retry-Key"]
    with rt.db.scope(write=False) as session:
        row = session.get(Announcement, announcement_id)
        assert (row.status, row.sent_count, row.failed_count) == ("sent", 3, 0)


def test_sign_ins_and_loans_go_on_while_line_answers_a_mass_send(app, rt, fake_line, monkeypatch):  # noqa: F811
    _linked_patrons(rt, 3)
    row_id = _approved(rt)
    librarian = app.test_client()
    sign_in_staff(librarian, rt, "librarian")
    slow, answers = SlowWork(), []
    monkeypatch.setattr(rt.line, "multicast", slow.wrap(rt.line.multicast))  # LINE answering slowly (up to 10 s a batch)
    seconds, still_sending = slow.write_during(
        lambda: answers.append(librarian.post(f"/staff/announcements/{row_id}/send", data={"csrf_token": csrf_token_for(librarian)})), rt,
        update(Patron).where(Patron.id == -1).values(blocked=False))  # another request's write
    assert still_sending and seconds < 5, seconds
    assert answers[0].status_code == 303 and len(fake_line.pushes) == 1
    with rt.db.scope(write=False) as session:
        assert (session.get(Announcement, row_id).status, session.get(Announcement, row_id).sent_count) == ("sent", 3)


def test_multicast_batches_of_500_and_failures_counted(rt, fake_line):  # noqa: F811
    _linked_patrons(rt, 501)
    fake_line.push_responses.append((200, {}))  # the first batch goes through
    fake_line.push_responses.append((500, {"message": "internal"}))  # the second fails
    row_id = _approved(rt)
    assert services.send(rt.db, rt.cipher, rt.line, row_id, now=NOON_JST) == (500, 1)
    assert [len(p["body"]["to"]) for p in fake_line.pushes] == [500]
    # sending again: the first batch's key is known to LINE (409), the second goes now
    assert services.send(rt.db, rt.cipher, rt.line, row_id, now=NOON_JST) == (501, 0)
    assert [len(p["body"]["to"]) for p in fake_line.pushes] == [500, 1]


def test_category_audience_and_blocked_users(rt, fake_line):  # noqa: F811
    _linked_patrons(rt, 2, category="student")
    _linked_patrons(rt, 2, category="citizen", start=10)
    with rt.db.scope() as session:
        linking.mark_blocked(session, rt.cipher, f"U{0:032x}", True)
        row = Announcement(title="t", body="b", audience="category", audience_value="student", show_on_site=False, send_line=True, status="approved")
        session.add(row)
        session.flush()
        row_id = row.id
    assert services.send(rt.db, rt.cipher, rt.line, row_id, now=NOON_JST) == (1, 0)
    assert fake_line.pushes[0]["body"]["to"] == [f"U{1:032x}"]


def test_quiet_hours_refuse_a_mass_send(rt, fake_line):  # noqa: F811
    _linked_patrons(rt, 1)
    row_id = _approved(rt)
    with pytest.raises(services.InQuietHours):
        services.send(rt.db, rt.cipher, rt.line, row_id, quiet_hours=parse_quiet_hours("21:00-08:00"), now=NOON_JST + timedelta(hours=10))
    assert fake_line.pushes == []


def test_one_patron_needs_no_approval_and_goes_through_the_outbox(app, rt, fake_line):  # noqa: F811
    _linked_patrons(rt, 1)
    with rt.db.scope(write=False) as session:
        patron_id = session.scalar(select(Patron.id))
    librarian = app.test_client()
    sign_in_staff(librarian, rt, "librarian")
    announcement_id = _create(librarian, audience="patron", audience_value=str(patron_id), show_on_site="")
    token = csrf_token_for(librarian)
    librarian.post(f"/staff/announcements/{announcement_id}/submit", data={"csrf_token": token})
    librarian.post(f"/staff/announcements/{announcement_id}/send", data={"csrf_token": token})
    assert [(m.channel, m.kind, m.body) for m in rt.notifier.sent] == [("line", "staff", "12月29日から1月3日まで休館します。")]
    with rt.db.scope(write=False) as session:
        assert session.get(Announcement, announcement_id).sent_count == 1


def test_home_page_shows_only_current_approved_ones(client, rt):
    now = utcnow()
    with rt.db.scope() as session:
        for title, status, approved, start, end in [
            ("いま掲載中", "approved", now, now - timedelta(hours=1), now + timedelta(days=1)),
            ("終わった", "approved", now, now - timedelta(days=3), now - timedelta(days=1)),
            ("これから", "approved", now, now + timedelta(days=1), None),
            ("下書き<b>", "draft", None, None, None),
        ]:
            session.add(Announcement(title=title, body="本文", audience="all", audience_value="", show_on_site=True, send_line=False,
                                     status=status, approved_at=approved, starts_at=start, ends_at=end))
    html = client.get("/").get_data(as_text=True)
    assert "いま掲載中" in html
    assert "終わった" not in html and "これから" not in html and "下書き" not in html


def test_validation(rt):
    class Staff:
        id = 1

    with rt.db.scope() as session:
        with pytest.raises(services.InvalidInput):
            services.create(session, Staff(), title="", body="b")
        with pytest.raises(services.InvalidInput):
            services.create(session, Staff(), title="t", body="b", audience="patron", audience_value="999")
        with pytest.raises(services.InvalidInput):
            services.create(session, Staff(), title="t", body="b", show_on_site=False, send_line=False)
