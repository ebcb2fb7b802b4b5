"""Provisional registration: form checks, confirmation e-mail through a real SMTP server on loopback,
provisional card at once, staff queue, duplicates, links used twice or expired, erasure."""
from __future__ import annotations

import re
import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from elibrary.audit.models import AccessLogEntry
from elibrary.db import utcnow
from elibrary.patrons import registration
from elibrary.patrons.models import Patron, Registration
from elibrary.patrons.services import notification_address
from tests.conftest import csrf_token_for, sign_in_staff

FORM = {
    "name": "山田　花子",
    "kana": "やまだ はなこ",
    "birth_date": "２００１／４／１",
    "postal_code": "〒６５０－０００１",
    "address": "兵庫県神戸市中央区加納町６－５－１",
    "phone": "０７８－３３１－８１８１",
    "email": "Hanako.Yamada@Example.JP",
}


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def app_config(app_config, inbox):
    app_config.update(ELIBRARY_NOTIFIER="smtp", ELIBRARY_SMTP_HOST="127.0.0.1", ELIBRARY_SMTP_PORT=inbox[1], ELIBRARY_SMTP_FROM="library@city.example.jp")
    return app_config


def submit(client, **changes):
    data = {**FORM, **changes, "csrf_token": csrf_token_for(client)}
    return client.post("/register", data=data)


def link_from(inbox) -> str:
    from email import message_from_bytes, policy

    mail = message_from_bytes(inbox[0].messages[-1].content, policy=policy.default)
    return re.search(r"http://localhost(/register/confirm/[\w-]+)", mail.get_body().get_content()).group(1)


def complete(client, path, pin="hana2468"):
    return client.post(path, data={"pin": pin, "pin2": pin, "csrf_token": csrf_token_for(client)})


def test_register_confirm_and_sign_in_with_the_provisional_card(client, rt, inbox):
    sent = submit(client)
    assert sent.status_code == 200 and "確認メールを送信しました" in sent.get_data(as_text=True)
    envelope = inbox[0].messages[0]
    assert envelope.rcpt_tos == ["Hanako.Yamada@example.jp"]
    assert "利用者仮登録の確認" in envelope.content.decode("utf-8", "replace") or b"=?utf-8?" in envelope.content
    path = link_from(inbox)
    assert client.get(path).status_code == 200
    done = complete(client, path)
    card = re.search(r'class="card-number">(P\d{9})<', done.get_data(as_text=True)).group(1)
    with client.session_transaction() as session:
        assert session["_user_id"].startswith("p:")  # signed in straight away
    with rt.db.scope() as session:
        patron = session.scalars(select(Patron)).one()
        assert patron.category == "provisional" and patron.source == "provisional"
        assert notification_address(session, rt.cipher, patron) == "Hanako.Yamada@example.jp"
        stored = session.scalars(select(Registration)).one()
        assert registration.decrypt_fields(stored, rt.cipher) == {
            "name": "山田 花子", "kana": "ヤマダ ハナコ", "birth_date": "2001-04-01", "postal_code": "650-0001",
            "address": "兵庫県神戸市中央区加納町6-5-1", "phone": "078-331-8181", "email": "Hanako.Yamada@example.jp",
        }
    client.post("/logout", data={"csrf_token": csrf_token_for(client)})
    again = client.post("/login", data={"card": card, "pin": "hana2468", "csrf_token": csrf_token_for(client)})
    assert again.status_code == 303

    reused = client.get(path)
    assert reused.status_code == 409 and "すでに使用されています" in reused.get_data(as_text=True)
    assert complete(client, path).status_code == 409


def test_provisional_cards_sign_in_even_when_an_ils_is_configured(client, rt, inbox, app):
    from elibrary.ils.fake import FakeILS

    rt.ils = FakeILS()  # the library's ILS knows nothing of online registrations
    submit(client)
    done = complete(client, link_from(inbox))
    card = re.search(r'class="card-number">(P\d{9})<', done.get_data(as_text=True)).group(1)
    client.post("/logout", data={"csrf_token": csrf_token_for(client)})
    assert client.post("/login", data={"card": card, "pin": "hana2468", "csrf_token": csrf_token_for(client)}).status_code == 303
    assert client.post("/login", data={"card": card, "pin": "wrong-pin", "csrf_token": csrf_token_for(client)}).status_code == 401


@pytest.mark.parametrize(
    "changes,field_message",
    [
        ({"name": "<script>alert(1)</script>"}, "氏名に使えない文字"),
        ({"kana": "Yamada"}, "フリガナはカタカナ"),
        ({"postal_code": "650-001"}, "郵便番号は 123-4567"),
        ({"birth_date": "2001-02-30"}, "生年月日は"),
        ({"email": "hanako@"}, "メールアドレスの形式"),
        ({"address": ""}, "住所を入力してください"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_stored(client, rt, inbox, changes, field_message):
    response = submit(client, **changes)
    text = response.get_data(as_text=True)
    assert response.status_code == 400 and field_message in text
    assert "<script>alert(1)" not in text  # echoed values are escaped
    with rt.db.scope() as session:
        assert session.scalars(select(Registration)).all() == []
    assert inbox[0].messages == []


def test_required_fields_are_a_library_setting(app_config, inbox):
    from elibrary import create_app

    app_config["ELIBRARY_REGISTRATION_REQUIRED"] = "name,email"
    app = create_app(app_config)
    try:
        client = app.test_client()
        response = client.post("/register", data={"name": "山田 花子", "email": "h@example.jp", "csrf_token": csrf_token_for(client)})
        assert response.status_code == 200
    finally:
        app.extensions["elibrary"].db.dispose()


def test_duplicates_by_email_and_by_person_are_caught(client, inbox):
    assert submit(client).status_code == 200
    same_email = submit(client, name="山田 太郎", birth_date="1970-01-01")
    assert same_email.status_code == 409 and "同じ方の登録がすでにあります" in same_email.get_data(as_text=True)
    same_person = submit(client, name="山田花子", email="other@example.jp")  # spacing differs, same person
    assert same_person.status_code == 409
    assert len(inbox[0].messages) == 1


def test_expired_link_and_unknown_link(client, rt, inbox):
    submit(client)
    path = link_from(inbox)
    with rt.db.scope() as session:
        session.execute(update(Registration).values(token_expires_at=utcnow() - timedelta(minutes=1)))
    expired = client.get(path)
    assert expired.status_code == 410 and "有効期限が切れています" in expired.get_data(as_text=True)
    assert complete(client, path).status_code == 410
    unknown = client.get("/register/confirm/not-a-real-token")
    assert unknown.status_code == 404 and "無効です" in unknown.get_data(as_text=True)


def test_expiry_erases_unconfirmed_and_closes_unverified_provisional_cards(client, runner, rt, inbox):
    submit(client)
    submit(client, name="佐藤 次郎", email="jiro@example.jp", birth_date="1990-05-05")
    complete(client, link_from(inbox))  # the second one gets confirmed by e-mail
    with rt.db.scope() as session:
        session.execute(update(Registration).values(expires_at=utcnow() - timedelta(seconds=1)))
    result = runner.invoke(args=["patrons", "expire-registrations"])
    assert result.exit_code == 0 and "2 expired registrations erased" in result.output
    with rt.db.scope() as session:
        assert session.scalars(select(Registration)).all() == []
        patron = session.scalars(select(Patron)).one()
        assert patron.name_enc is None and patron.email_enc is None and patron.pin_hash is None and patron.blocked
    # The same person may register again afterwards.
    assert submit(client).status_code == 200


def test_staff_queue_confirms_identity_and_every_view_is_logged(client, rt, inbox):
    submit(client)
    complete(client, link_from(inbox))
    client.post("/logout", data={"csrf_token": csrf_token_for(client)})
    sign_in_staff(client, rt, "librarian")
    page = client.get("/staff/registrations")
    assert page.status_code == 200 and "山田 花子" in page.get_data(as_text=True)
    with rt.db.scope() as session:
        reg = session.scalars(select(Registration)).one()
        viewed = session.scalars(select(AccessLogEntry)).one()
        assert viewed.action == "view" and viewed.patron_id == reg.patron_id and "address" in viewed.fields
        assert viewed.staff_email == "librarian@city.example.jp"
    approved = client.post(f"/staff/registrations/{reg.id}/approve", data={"category": "citizen", "csrf_token": csrf_token_for(client)})
    assert approved.status_code == 303
    with rt.db.scope() as session:
        patron = session.get(Patron, reg.patron_id)
        assert patron.category == "citizen" and patron.source == "registered" and patron.expires_on is None
        assert session.scalars(select(Registration)).all() == []
        actions = [e.action for e in session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id))]
        assert actions == ["view", "change"]


def test_staff_reject_erases_and_teachers_cannot_see_the_queue(client, rt, inbox):
    submit(client)
    complete(client, link_from(inbox))
    client.post("/logout", data={"csrf_token": csrf_token_for(client)})
    sign_in_staff(client, rt, "teacher")
    assert client.get("/staff/registrations").status_code == 403
    client.post("/staff/logout", data={"csrf_token": csrf_token_for(client)})
    sign_in_staff(client, rt, "admin")
    with rt.db.scope() as session:
        reg_id = session.scalars(select(Registration.id)).one()
    assert client.post(f"/staff/registrations/{reg_id}/reject", data={"csrf_token": csrf_token_for(client)}).status_code == 303
    with rt.db.scope() as session:
        assert session.scalars(select(Registration)).all() == []
        patron = session.scalars(select(Patron)).one()
        assert patron.name_enc is None and patron.blocked
        assert [e.action for e in session.scalars(select(AccessLogEntry))] == ["erase"]


def test_raw_database_file_holds_no_name_address_or_email(client, rt, inbox, engine_name, database_url):
    if engine_name != "sqlite":
        pytest.skip("reads the SQLite file")
    submit(client)
    complete(client, link_from(inbox))
    rt.db.dispose()
    path = database_url.removeprefix("sqlite:///")
    raw = b""
    for suffix in ("", "-wal"):
        try:
            with open(path + suffix, "rb") as fh:
                raw += fh.read()
        except FileNotFoundError:
            pass
    assert len(raw) > 10000
    for secret in ("山田", "花子", "ヤマダ", "神戸市", "加納町", "650-0001", "331-8181", "Hanako", "example.jp", "2001-04-01"):
        for encoding in ("utf-8", "utf-16-le"):
            assert secret.encode(encoding) not in raw, secret


def test_smtp_notifier_failures_leave_the_message_for_a_retry():
    from elibrary.notify.base import DeliveryFailed, Message
    from elibrary.notify.smtp import SMTPNotifier

    notifier = SMTPNotifier("127.0.0.1", free_port(), "library@city.example.jp", timeout=2)
    with pytest.raises(DeliveryFailed):
        notifier.send(Message(channel="email", address="a@example.jp", subject="s", body="b"))
    with pytest.raises(DeliveryFailed):
        notifier.send(Message(channel="line", address="U123", subject="s", body="b"))


def test_personal_data_never_reaches_the_logs(client, rt, inbox, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    submit(client)
    submit(client)  # a duplicate
    submit(client, name="<b>x</b>")
    path = link_from(inbox)
    done = complete(client, path)
    card = re.search(r'class="card-number">(P\d{9})<', done.get_data(as_text=True)).group(1)
    client.post("/login", data={"card": card, "pin": "wrong", "csrf_token": csrf_token_for(client)})
    ours = [r for r in caplog.records if not r.name.startswith("mail.log")]  # aiosmtpd is the test's mail server
    logged = "\n".join(record.getMessage() + str(record.args) + (record.exc_text or "") for record in ours)
    for secret in ("山田", "Hanako", "example.jp", "加納町", "650-0001", card, "hana2468"):
        assert secret not in logged, secret


def test_approval_can_send_the_record_to_the_ils(client, rt, inbox):
    import json

    import httpx

    from elibrary.ils.http import HTTPConnector
    from elibrary.patrons.services import card_number_of, find_by_card

    received = []

    def vendor(request: httpx.Request) -> httpx.Response:
        received.append(json.loads(request.content))
        return httpx.Response(201, json={"patron": {"cardNo": "1000012345"}})

    mapping = {
        "url": "http://ils.invalid/auth", "request": {"card": "id", "pin": "pw"},
        "register": {"url": "http://ils.invalid/patrons", "fields": {"name": "name", "kana": "kana", "postal_code": "zip", "category": "type"},
                     "static": {"lib": "KOBE"}, "card": "patron.cardNo"},
    }
    rt.ils = HTTPConnector(mapping, client=httpx.Client(transport=httpx.MockTransport(vendor)))
    submit(client)
    complete(client, link_from(inbox))
    client.post("/logout", data={"csrf_token": csrf_token_for(client)})
    sign_in_staff(client, rt, "librarian")
    page = client.get("/staff/registrations").get_data(as_text=True)
    assert 'name="send_to_ils"' in page
    with rt.db.scope() as session:
        reg_id = session.scalars(select(Registration.id)).one()
    shown = client.post(f"/staff/registrations/{reg_id}/approve", data={"category": "citizen", "send_to_ils": "1", "csrf_token": csrf_token_for(client)})
    assert shown.status_code == 200 and "1000012345" in shown.get_data(as_text=True)
    assert received == [{"lib": "KOBE", "name": "山田 花子", "kana": "ヤマダ ハナコ", "zip": "650-0001", "type": "citizen"}]
    with rt.db.scope() as session:
        patron = find_by_card(session, rt.cipher, "1000012345")
        assert patron.source == "ils" and patron.pin_hash is None and patron.category == "citizen"
        assert card_number_of(patron, rt.cipher) == "1000012345"
    rt.ils.close()


def test_ils_refusing_the_registration_changes_nothing(client, rt, inbox):
    import httpx

    from elibrary.ils.http import HTTPConnector

    mapping = {"url": "http://ils.invalid/auth", "request": {"card": "id", "pin": "pw"}, "register": {"url": "http://ils.invalid/patrons", "card": "cardNo"}}
    rt.ils = HTTPConnector(mapping, client=httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(500, text="down"))))
    submit(client)
    complete(client, link_from(inbox))
    client.post("/logout", data={"csrf_token": csrf_token_for(client)})
    sign_in_staff(client, rt, "librarian")
    with rt.db.scope() as session:
        reg_id = session.scalars(select(Registration.id)).one()
    failed = client.post(f"/staff/registrations/{reg_id}/approve", data={"category": "citizen", "send_to_ils": "1", "csrf_token": csrf_token_for(client)})
    assert failed.status_code in (303, 503)
    with rt.db.scope() as session:
        assert session.scalars(select(Registration)).one().status == "provisional"
        assert session.scalars(select(Patron)).one().category == "provisional"
    rt.ils.close()


def test_sign_in_page_links_to_registration(client):
    assert 'href="/register"' in client.get("/login").get_data(as_text=True)
