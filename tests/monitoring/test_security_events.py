"""Security events: sign-ins, lockouts, TOTP failures, refusals; the admin page, its CSV, the staff alert."""
from __future__ import annotations

import csv
import io
import json
import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from elibrary.db import utcnow
from elibrary.monitoring import alerts
from elibrary.notify.models import OutboxMessage
from elibrary.security import events
from elibrary.security.events import SecurityEvent
from elibrary.staff import services as staff_services
from elibrary.staff import totp
from elibrary.staff.models import StaffUser
from tests.conftest import csrf_token_for, sign_in_staff

CARD, PIN = "20249999", "8642"


@pytest.fixture
def app_config(app_config):
    app_config["ELIBRARY_SIGNIN_PAIR_LIMIT"] = 3
    app_config["ELIBRARY_SIGNIN_CARD_LIMIT"] = 10
    return app_config


def kinds(rt) -> list[str]:
    with rt.db.scope(write=False) as session:
        return [e.kind for e in session.scalars(select(SecurityEvent).order_by(SecurityEvent.id))]


def sign_in(client, card, pin):
    return client.post("/login", data={"card": card, "pin": pin, "csrf_token": csrf_token_for(client)})


def admin_client(app, rt):
    """A new browser with an admin signed in through the real steps."""
    client = app.test_client()
    sign_in_staff(client, rt, "admin", "kanri@city.example.jp")
    return client


def test_patron_sign_ins_and_the_lockout_are_events_without_the_card(runner, client, rt, caplog):
    runner.invoke(args=["patrons", "add", CARD, "--pin", PIN])
    caplog.set_level(logging.INFO, logger="elibrary.security")
    assert sign_in(client, CARD, PIN).status_code == 303
    for _ in range(3):
        assert sign_in(client, CARD, "0000").status_code in (401, 429)
    assert kinds(rt) == ["signin.success", "signin.failure", "signin.failure", "signin.failure", "signin.lockout"]
    with rt.db.scope(write=False) as session:
        rows = list(session.scalars(select(SecurityEvent)))
    assert {r.subject_ref for r in rows} == {events.subject_ref(rt.cipher, "card", CARD)}
    assert all(r.actor_kind == "patron" and r.client_address == "127.0.0.1" and r.request_id for r in rows)
    lock = rows[-1]
    assert lock.detail["counters"] == "pair" and lock.detail["minutes"] == 15
    logged = " ".join(r.getMessage() + json.dumps(getattr(r, "detail", None)) + str(getattr(r, "subject_ref", "")) for r in caplog.records)
    assert "signin.lockout" in logged and CARD not in logged and PIN not in logged


def test_a_second_success_soon_after_is_not_a_new_event(runner, client, rt):
    runner.invoke(args=["patrons", "add", CARD, "--pin", PIN])
    sign_in(client, CARD, PIN)
    sign_in(client, CARD, PIN)  # an OPDS app signs in with every request
    assert kinds(rt) == ["signin.success"]


def test_request_id_is_generated_and_stored_and_a_proxy_id_is_taken_only_from_a_trusted_proxy(app_config, runner, client, rt):
    runner.invoke(args=["patrons", "add", CARD, "--pin", PIN])
    token = csrf_token_for(client)
    forged = client.post("/login", data={"card": CARD, "pin": "0000", "csrf_token": token}, headers={"X-Request-ID": "forged-by-client"})
    assert forged.headers["X-Request-ID"] != "forged-by-client" and re.fullmatch(r"[0-9a-f]{16}", forged.headers["X-Request-ID"])
    with rt.db.scope(write=False) as session:
        assert session.scalars(select(SecurityEvent.request_id)).one() == forged.headers["X-Request-ID"]

    from elibrary import create_app

    app_config["ELIBRARY_TRUSTED_PROXIES"] = 1
    proxied = create_app(app_config).test_client()
    response = proxied.get("/", headers={"X-Request-ID": "nginx-0123abcd"})
    assert response.headers["X-Request-ID"] == "nginx-0123abcd"
    assert proxied.get("/", headers={"X-Request-ID": "<script>x</script>"}).headers["X-Request-ID"] != "<script>x</script>"


def test_staff_failures_and_totp_failures(client, rt):
    with rt.db.scope() as session:
        _user, password = staff_services.add_staff(session, "shisho@city.example.jp", "librarian", None)
    token = csrf_token_for(client)
    client.post("/staff/login", data={"email": "shisho@city.example.jp", "password": "wrong-password", "csrf_token": token})
    client.post("/staff/login", data={"email": "shisho@city.example.jp", "password": password, "csrf_token": token})
    client.post("/staff/login/enrol", data={"code": "000000", "csrf_token": token})
    with rt.db.scope(write=False) as session:
        rows = list(session.scalars(select(SecurityEvent).order_by(SecurityEvent.id)))
        staff_id = session.scalars(select(StaffUser.id)).one()
    assert [r.kind for r in rows][:2] == ["signin.failure", "signin.success"]
    assert all(r.actor_kind == "staff" for r in rows) and rows[1].staff_id == staff_id
    assert rows[0].subject_ref == events.subject_ref(rt.cipher, "staff", "shisho@city.example.jp")


def test_totp_failure_is_its_own_kind(client, rt):
    user = sign_in_staff(client, rt, "librarian", "shisho@city.example.jp")
    with rt.db.scope() as session:
        user = session.get(StaffUser, user.id)
        with pytest.raises(totp.WrongCode):
            staff_services.check_second_factor(session, rt, user, "000000", "192.0.2.7")
    assert kinds(rt)[-1] == "staff.totp.failure"
    with rt.db.scope(write=False) as session:
        assert session.scalars(select(SecurityEvent.staff_id).where(SecurityEvent.kind == "staff.totp.failure")).one() == user.id


def test_a_permission_refusal_is_an_event(app, client, rt):
    teacher = sign_in_staff(client, rt, "teacher", "sensei@school.example.jp")
    assert client.get("/staff/security-events/").status_code == 403
    with rt.db.scope(write=False) as session:
        refusal = session.scalars(select(SecurityEvent).where(SecurityEvent.kind == "permission.refused")).one()
    assert refusal.staff_id == teacher.id and refusal.detail == {"endpoint": "security_events.search", "method": "GET"}
    assert refusal.actor_kind == "staff"


def test_admin_page_filters_by_card_and_exports_safe_csv(app, runner, client, rt):
    runner.invoke(args=["patrons", "add", CARD, "--pin", PIN])
    sign_in(client, CARD, "0000")
    sign_in(client, "20240000", "0000")
    with rt.db.scope() as session:
        events.record_security_event(session, "import.run", actor_kind="staff", address="=HYPERLINK(1)", detail={"format": "onix"})
    staff = admin_client(app, rt)
    page = staff.post("/staff/security-events/", data={"who": CARD, "csrf_token": csrf_token_for(staff)}).get_data(as_text=True)
    assert page.count("ログイン失敗") == 2  # one row + the option of the filter
    assert events.subject_ref(rt.cipher, "card", CARD) in page and CARD not in page  # the export form carries the pseudonym
    exported = staff.post("/staff/security-events/export.csv", data={"subject": events.subject_ref(rt.cipher, "card", CARD),
                                                                      "csrf_token": csrf_token_for(staff)}).get_data(as_text=True)
    assert exported.count("signin.failure") == 1
    everything = staff.post("/staff/security-events/", data={"csrf_token": csrf_token_for(staff)}).get_data(as_text=True)
    assert everything.count("ログイン失敗") == 3
    exported = staff.post("/staff/security-events/export.csv", data={"kind": "import.run", "csrf_token": csrf_token_for(staff)})
    assert exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][1] == "kind" and len(rows) == 2 and rows[1][1] == "import.run" and rows[1][5] == "'=HYPERLINK(1)"


def test_detail_refuses_keys_that_name_secrets(rt):
    with rt.db.scope() as session, pytest.raises(ValueError):
        events.record_security_event(session, "import.run", detail={"card_number": "1"})


def test_lockouts_alert_admins_once_per_window(runner, client, rt):
    with rt.db.scope() as session:
        staff_services.add_staff(session, "kanri@city.example.jp", "admin", None)
    runner.invoke(args=["patrons", "add", CARD, "--pin", PIN])
    now = utcnow()
    with rt.db.scope() as session:
        assert alerts.check_and_alert(session, rt.cipher, rt.settings, now) == "security alerts: nothing to report"
    for _ in range(3):
        sign_in(client, CARD, "0000")
    with rt.db.scope() as session:
        assert "alert queued for 1" in alerts.check_and_alert(session, rt.cipher, rt.settings, utcnow())
    with rt.db.scope() as session:
        assert "quiet" in alerts.check_and_alert(session, rt.cipher, rt.settings, utcnow() + timedelta(minutes=30))
    with rt.db.scope(write=False) as session:
        assert len(list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "security-alert")))) == 1
    sent = [m for m in rt.notifier.sent if m.kind == "security-alert"]  # delivered after the commit
    assert [m.address for m in sent] == ["kanri@city.example.jp"]
    assert "signin.lockout: 1" in sent[0].body and "127.0.0.1: 4" in sent[0].body and CARD not in sent[0].body
    # After the window, nothing new means no new alert.
    with rt.db.scope() as session:
        assert alerts.check_and_alert(session, rt.cipher, rt.settings, utcnow() + timedelta(minutes=61)) == "security alerts: nothing to report"


def test_old_events_are_removed_after_the_retention(rt):
    with rt.db.scope() as session:
        events.record_security_event(session, "import.run", at=utcnow() - timedelta(days=401))
        events.record_security_event(session, "import.run")
    assert "1 older than 400 days removed" in alerts.purge_old_events(rt, utcnow())
    assert kinds(rt) == ["import.run"]


def test_an_import_from_the_command_line_is_an_event(runner, rt, tmp_path):
    path = tmp_path / "books.csv"
    path.write_text("タイトル,著者,ISBN\n取込の本,山田,978-4-09-000003-4\n", encoding="utf-8")
    result = runner.invoke(args=["import", "csv", str(path)])
    assert result.exit_code == 0, result.output
    with rt.db.scope(write=False) as session:
        event = session.scalars(select(SecurityEvent).where(SecurityEvent.kind == "import.run")).one()
    assert event.actor_kind == "system" and event.detail["added"] == 1 and event.detail["via"] == "cli" and event.detail["format"] == "csv"
