"""``/healthz/detail`` for monitoring, beside a plain ``/healthz`` that never fails for the ILS or a backup."""
from __future__ import annotations

from datetime import timedelta

import pytest

from elibrary.backup.models import BackupRun
from elibrary.db import utcnow
from tests.conftest import sign_in_staff


@pytest.fixture
def app_config(app_config):
    return {**app_config, "ELIBRARY_MONITORING_NETWORKS": "127.0.0.0/8, ::1"}


def _record(rt, **values):
    with rt.db.scope() as session:
        session.add(BackupRun(**{"kind": "backup", "started_at": utcnow(), "ok": True, "file_name": "x.tar", "message": "", **values}))


def test_the_detail_reports_every_part_to_the_monitoring_address(client):
    response = client.get("/healthz/detail")
    assert response.status_code == 200, response.get_json()
    checks = response.get_json()["checks"]
    assert set(checks) == {"database", "search", "booktext", "storage", "ils", "outbox", "backup", "scheduler", "maintenance"}
    assert "behind" in checks["search"]["lag"] and "behind" in checks["booktext"]["lag"] and checks["outbox"]["backlog"] == 0
    assert "lending" in " ".join(checks["scheduler"]["jobs"]) and checks["backup"]["scheduled"] is None


def test_others_do_not_see_it(app, rt):
    stranger = app.test_client()
    assert stranger.get("/healthz/detail", environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 404
    librarian, admin = app.test_client(), app.test_client()
    for staff in (librarian, admin):
        staff.environ_base["REMOTE_ADDR"] = "198.51.100.7"  # not a monitoring address (and the session stays on one address)
    sign_in_staff(librarian, rt, "librarian")
    assert librarian.get("/healthz/detail").status_code == 404
    sign_in_staff(admin, rt, "admin")
    assert admin.get("/healthz/detail").status_code == 200


def test_a_failed_backup_fails_the_detail_but_never_plain_healthz(app, rt, client):
    rt.settings["ELIBRARY_BACKUP_SCHEDULE"] = "03:00"
    assert client.get("/healthz/detail").get_json()["checks"]["backup"]["error"] == "no scheduled backup has run yet"
    _record(rt, started_at=utcnow() - timedelta(hours=30))
    assert "older than 26 hours" in client.get("/healthz/detail").get_json()["checks"]["backup"]["error"]
    _record(rt)
    assert client.get("/healthz/detail").status_code == 200
    _record(rt, ok=False, message="No space left on device")
    detail = client.get("/healthz/detail")
    assert detail.status_code == 503 and detail.get_json()["checks"]["backup"]["last"]["message"] == "No space left on device"
    assert client.get("/healthz").status_code == 200


def test_a_daily_job_that_stopped_running_is_overdue(app_config, tmp_path):
    from elibrary import create_app, jobs

    app = create_app({**app_config, "ELIBRARY_BACKUP_SCHEDULE": "03:00"})
    rt = app.extensions["elibrary"]
    client = app.test_client()
    now = utcnow()
    assert jobs.take_lease(rt.db, "backup", "test", now - timedelta(days=3), 60)
    jobs.release_lease(rt.db, "backup", "test", now - timedelta(days=3))  # it last ran three days ago
    scheduler = client.get("/healthz/detail").get_json()["checks"]["scheduler"]
    assert scheduler["ok"] is False and scheduler["jobs"]["backup"]["overdue"] is True
    assert jobs.take_lease(rt.db, "backup", "again", now, 60)
    jobs.release_lease(rt.db, "backup", "again", now)
    assert client.get("/healthz/detail").get_json()["checks"]["scheduler"]["jobs"]["backup"]["overdue"] is False
    rt.db.dispose()


def test_an_ils_that_does_not_answer_fails_the_detail_but_never_plain_healthz(rt, client, monkeypatch):
    def down():
        raise ConnectionRefusedError("the ILS is in its nightly batch")

    monkeypatch.setattr(rt.ils, "status", down)
    detail = client.get("/healthz/detail")
    assert detail.status_code == 503 and detail.get_json()["checks"]["ils"] == {"ok": False, "error": "ConnectionRefusedError"}
    assert client.get("/healthz").status_code == 200


def test_the_admin_page_lists_backups_with_size_and_result(app, rt):
    _record(rt, size=3 * 1024 * 1024, files=40, new_files=2, new_bytes=2048, file_name="elibrary-backup-20261206T180000Z.tar")
    _record(rt, ok=False, message="Permission denied: /backups")
    admin = app.test_client()
    sign_in_staff(admin, rt, "admin")
    page = admin.get("/staff/backups").get_data(as_text=True)
    assert "elibrary-backup-20261206T180000Z.tar" in page and "3.0 MB" in page and "40（新規 2・2.0 KB）" in page
    assert "失敗" in page and "Permission denied: /backups" in page and "前回のバックアップが失敗しました" in page
    assert "バックアップ" in admin.get("/staff/").get_data(as_text=True)
