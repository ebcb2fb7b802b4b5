"""The staff access log: hash chain, append-only, tamper detection, search and CSV (CLI and screen)."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from elibrary.audit import services
from elibrary.audit.models import AccessLogEntry
from elibrary.patrons.services import add_local_patron
from tests.conftest import csrf_token_for, sign_in_staff


def access(action="view", patron_id=None, email="shisho@city.example.jp", **kw):
    return services.Access(staff_id=1, staff_email=email, address="192.0.2.10", action=action, patron_id=patron_id, **kw)


@pytest.fixture
def logged(rt):
    """Two patrons and five entries by two staff members."""
    with rt.db.scope() as session:
        first = add_local_patron(session, rt.cipher, "20240001", "2468", name="山田 花子")
        second = add_local_patron(session, rt.cipher, "20240002", "1357")
        ids = (first.id, second.id)
    for patron_id, email in [(ids[0], "a@city.example.jp"), (ids[1], "a@city.example.jp"), (ids[0], "b@city.example.jp")]:
        services.record_now(rt.db, access(patron_id=patron_id, email=email, fields=("name", "address"), subject=f"patron:{patron_id}"))
    services.record_now(rt.db, access("search", email="b@city.example.jp", subject="patrons", detail="query by card"))
    services.record_now(rt.db, access("export", email="a@city.example.jp", subject="audit-log"))
    return ids


def test_chain_verifies_and_the_cli_says_so(runner, logged):
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact: 5 entries" in result.output


def test_the_database_refuses_updates_and_deletes(rt, logged):
    for statement in ("UPDATE audit_access_log SET action = 'view' WHERE id = 2", "DELETE FROM audit_access_log WHERE id = 2"):
        with pytest.raises(DBAPIError, match="append-only"):
            with rt.db.engine.begin() as conn:
                conn.execute(text(statement))


def _without_triggers(rt, statement):
    """What an attacker with database access could do: remove the guard, then edit."""
    with rt.db.engine.begin() as conn:
        if rt.db.is_sqlite:
            conn.execute(text("DROP TRIGGER audit_access_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_access_log_no_delete"))
        else:
            conn.execute(text("ALTER TABLE audit_access_log DISABLE TRIGGER audit_access_log_append_only"))
        conn.execute(text(statement))


@pytest.mark.parametrize(
    "statement,bad_id,reason",
    [
        ("UPDATE audit_access_log SET staff_email = 'someone@else.example.jp' WHERE id = 3", 3, "changed"),
        ("DELETE FROM audit_access_log WHERE id = 2", 3, "removed"),
        ("UPDATE audit_access_log SET at = at WHERE id = 4", None, ""),  # a no-op keeps the chain intact
    ],
)
def test_tampering_is_detected(runner, rt, logged, statement, bad_id, reason):
    _without_triggers(rt, statement)
    result = runner.invoke(args=["audit", "verify"])
    if bad_id is None:
        assert result.exit_code == 0
        return
    assert result.exit_code == 1 and f"tampered at entry {bad_id}" in result.output and reason in result.output
    with rt.db.scope(write=False) as session:
        assert services.verify(session).first_bad_id == bad_id


def test_cli_search_by_patron_card_staff_and_period(runner, logged):
    by_card = runner.invoke(args=["audit", "search", "--patron", "２０２４ ０００１"])
    assert by_card.exit_code == 0 and len(by_card.stdout.strip().splitlines()) == 2
    assert "山田" not in by_card.output and "2 entries" in by_card.stderr  # the log names patrons by id, never by their data
    by_staff = runner.invoke(args=["audit", "search", "--staff", "b@city.example.jp"])
    assert len(by_staff.stdout.strip().splitlines()) == 2
    both = runner.invoke(args=["audit", "search", "--patron", "20240001", "--staff", "b@city.example.jp", "--csv"])
    rows = list(csv.reader(io.StringIO(both.stdout)))
    assert rows[0][:3] == ["id", "at", "staff_email"] and len(rows) == 2
    assert runner.invoke(args=["audit", "search", "--since", "2999-01-01"]).stdout.strip() == ""
    assert len(runner.invoke(args=["audit", "search", "--since", "2000-01-01"]).stdout.strip().splitlines()) == 5
    assert runner.invoke(args=["audit", "search", "--patron", "99999999"]).exit_code == 1
    assert runner.invoke(args=["audit", "search", "--since", "yesterday"]).exit_code != 0


def test_admin_screen_search_and_csv_export_are_logged_too(client, rt, logged):
    sign_in_staff(client, rt, "admin")
    assert client.get("/staff/audit/").status_code == 200
    token = csrf_token_for(client)
    page = client.post("/staff/audit/", data={"card": "20240001", "staff": "", "since": "", "until": "", "csrf_token": token})
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and body.count("a@city.example.jp") + body.count("b@city.example.jp") >= 2
    exported = client.post("/staff/audit/export.csv", data={"staff": "a@city.example.jp", "csrf_token": token})
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 1 + 3
    with rt.db.scope(write=False) as session:
        last_two = session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id.desc()).limit(2)).all()
        assert [e.action for e in last_two] == ["export", "search"]
        assert all(e.staff_email == "admin@city.example.jp" for e in last_two)
        assert "20240001" not in last_two[1].detail
        assert services.verify(session).ok


def test_only_admins_see_the_log(client, rt):
    sign_in_staff(client, rt, "librarian")
    assert client.get("/staff/audit/").status_code == 403
    assert client.post("/staff/audit/export.csv", data={"csrf_token": csrf_token_for(client)}).status_code == 403
