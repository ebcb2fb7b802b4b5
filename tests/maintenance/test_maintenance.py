"""Maintenance mode: the flag file, the full stop, read-only service, the planned-stop announcement, the admin page."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from elibrary.announcements.models import Announcement
from elibrary.db import utcnow
from elibrary.maintenance.flag import CHECK_EVERY, FlagReader, MaintenanceState, flag_path, write_state
from elibrary.maintenance.times import describe_ja
from tests.conftest import csrf_token_for, make_test_config, sign_in_staff


@pytest.fixture
def flag(app):
    return flag_path(app.config)


def _on(runner, *args):
    result = runner.invoke(args=["maintenance", "on", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _wait_for_flag(rt):
    rt.maintenance._checked = -10.0  # the worker looks again at once (in production: within a second)


def test_the_reader_stats_at_most_once_a_second_and_sees_a_new_flag(tmp_path):
    path = tmp_path / ".maintenance.json"
    clock = [100.0]
    reader = FlagReader(path, clock=lambda: clock[0])
    assert reader.current() is None
    write_state(path, MaintenanceState(message="点検"))
    assert reader.current() is None  # the same second: not looked at again
    clock[0] += CHECK_EVERY
    assert reader.current().message == "点検"
    path.write_text("{not json", encoding="utf-8")
    clock[0] += CHECK_EVERY
    assert reader.current() == MaintenanceState()  # a damaged flag stops the site rather than being ignored
    path.unlink()
    clock[0] += CHECK_EVERY
    assert reader.current() is None


def test_full_mode_shows_the_maintenance_page_but_staff_and_healthz_work(app, rt, runner, client):
    staff = app.test_client()
    sign_in_staff(staff, rt, "admin")
    until = (utcnow() + timedelta(hours=2)).astimezone().strftime("%Y-%m-%d %H:%M%z")
    _on(runner, "--message", "サーバー機器の交換<script>", "--until", until)
    _wait_for_flag(rt)
    page = client.get("/")
    assert page.status_code == 503
    assert 6000 < int(page.headers["Retry-After"]) <= 7200
    text = page.get_data(as_text=True)
    assert "ただいまメンテナンス中です" in text and "Under maintenance" in text
    assert "再開予定" in text and "Expected back:" in text
    assert "&lt;script&gt;" in text and "<script>" not in text
    opds = client.get("/opds/v2/")
    assert opds.status_code == 503 and opds.mimetype == "application/problem+json" and "Retry-After" in opds.headers
    assert opds.get_json()["type"].endswith("/maintenance")
    assert client.get("/healthz").status_code == 200
    assert client.get("/staff/login").status_code == 200
    assert staff.get("/").status_code == 200  # signed-in staff see the site to check it
    assert staff.get("/staff/maintenance").status_code == 200
    result = runner.invoke(args=["maintenance", "off"])
    assert result.exit_code == 0 and "maintenance off" in result.output
    _wait_for_flag(rt)
    assert client.get("/").status_code == 200
    from sqlalchemy import select

    from elibrary.security.events import SecurityEvent

    with rt.db.scope(write=False) as session:  # both changes are security events for the auditor
        kinds = set(session.scalars(select(SecurityEvent.kind).where(SecurityEvent.kind.like("maintenance.%"))))
    assert kinds == {"maintenance.on", "maintenance.off"}


def test_read_only_mode_keeps_search_and_pauses_borrowing_and_registration(app, rt, runner, client):
    token = csrf_token_for(client)
    _on(runner, "--read-only", "--until", "23:59")
    _wait_for_flag(rt)
    home = client.get("/")
    assert home.status_code == 200 and "貸出・予約・利用者登録を一時停止しています" in home.get_data(as_text=True)
    assert client.get("/search?q=test").status_code == 200
    register = client.get("/register")
    assert register.status_code == 503 and "再開予定" in register.get_data(as_text=True)
    borrow = client.post("/titles/1/borrow", data={"csrf_token": token})
    assert borrow.status_code == 503 and "この機能は一時停止しています" in borrow.get_data(as_text=True)
    opds_borrow = client.post("/opds/v2/titles/1/borrow", auth=("0000", "0000"))
    assert opds_borrow.status_code == 503 and opds_borrow.get_json()["type"].endswith("/maintenance-read-only")


def test_a_planned_stop_is_announced_ahead_and_starts_by_itself(app, rt, runner, client):
    start = utcnow() + timedelta(days=3)
    output = _on(runner, "--at", start.isoformat(), "--until", (start + timedelta(hours=4)).isoformat(), "--message", "機器更新")
    assert "maintenance on (full) from" in output
    _wait_for_flag(rt)
    home = client.get("/")
    assert home.status_code == 200
    text = home.get_data(as_text=True)
    assert "システムメンテナンスのお知らせ" in text and describe_ja(start) in text
    assert "planned full" in runner.invoke(args=["maintenance", "status"]).output
    state = json.loads(flag_path(app.config).read_text(encoding="utf-8"))
    state["starts_at"] = (utcnow() - timedelta(minutes=1)).isoformat()  # the time comes
    flag_path(app.config).write_text(json.dumps(state), encoding="utf-8")
    _wait_for_flag(rt)
    assert client.get("/").status_code == 503
    runner.invoke(args=["maintenance", "off"])
    with rt.db.scope() as session:
        row = session.query(Announcement).one()
        assert row.ends_at <= utcnow()  # the announcement ends with the stop


def test_a_stop_far_ahead_is_announced_only_ten_days_before(app, rt, runner, client):
    start = utcnow() + timedelta(days=20)
    _on(runner, "--at", start.isoformat())
    assert "メンテナンス" not in client.get("/").get_data(as_text=True)
    with rt.db.scope() as session:
        row = session.query(Announcement).one()
        assert abs((start - row.starts_at) - timedelta(days=10)) < timedelta(seconds=2)


def test_bad_times_are_refused_in_one_line(runner):
    result = runner.invoke(args=["maintenance", "on", "--until", "tomorrow"])
    assert result.exit_code == 1 and "cannot read the time" in result.output
    result = runner.invoke(args=["maintenance", "on", "--at", "2030-01-02 03:00", "--until", "2030-01-02 02:00"])
    assert result.exit_code == 1 and "after the start" in result.output


def test_admins_turn_it_on_and_off_from_the_staff_page(app, rt, client):
    sign_in_staff(client, rt, "admin")
    token = csrf_token_for(client)
    response = client.post("/staff/maintenance", data={"csrf_token": token, "action": "on", "read_only": "1", "until": "2099-01-01T09:00",
                                                       "message": "点検"})
    assert response.status_code == 303
    assert flag_path(app.config).exists()
    page = client.get("/staff/maintenance").get_data(as_text=True)
    assert "読み取り専用" in page and "2099" not in page and "1月1日" in page
    client.post("/staff/maintenance", data={"csrf_token": token, "action": "off"})
    assert not flag_path(app.config).exists()


def test_librarians_cannot_switch_it(app, rt, client):
    sign_in_staff(client, rt, "librarian")
    assert client.post("/staff/maintenance", data={"csrf_token": csrf_token_for(client), "action": "on"}).status_code == 403


def test_the_maintenance_page_answers_while_the_database_is_down(tmp_path):
    from elibrary import create_app

    config = make_test_config(tmp_path / "instance", f"sqlite:///{tmp_path}/missing/folder/elibrary.db")
    app = create_app(config)
    client = app.test_client()
    assert client.get("/").status_code == 503
    assert "ただいまメンテナンス中です" not in client.get("/").get_data(as_text=True)  # the database page, without the flag
    write_state(flag_path(app.config), MaintenanceState(message="データベースの更新"))
    _wait_for_flag(app.extensions["elibrary"])
    page = client.get("/")
    assert page.status_code == 503 and "ただいまメンテナンス中です" in page.get_data(as_text=True)
    assert "データベースの更新" in page.get_data(as_text=True)
    assert client.get("/opds/v1/").mimetype == "application/problem+json"
    app.extensions["elibrary"].db.dispose()


def test_the_command_works_while_the_database_is_down(tmp_path):
    from elibrary import create_app

    app = create_app(make_test_config(tmp_path / "instance", f"sqlite:///{tmp_path}/missing/folder/elibrary.db"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["maintenance", "on", "--message", "データベースの移行"])
    assert result.exit_code == 0 and "maintenance on (full) now" in result.output
    assert "no home-page announcement was written" in result.output
    assert flag_path(app.config).exists()
    result = runner.invoke(args=["maintenance", "off"])
    assert result.exit_code == 0 and not flag_path(app.config).exists()
    app.extensions["elibrary"].db.dispose()
