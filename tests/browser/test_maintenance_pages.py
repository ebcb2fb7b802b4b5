"""Maintenance mode and the backups page in a real browser: what patrons and admins see, accessible, by touch."""
from __future__ import annotations

from datetime import timedelta

import pytest

from elibrary.backup.models import BackupRun
from elibrary.db import utcnow
from elibrary.maintenance import services
from elibrary.maintenance.flag import flag_path
from elibrary.maintenance.times import TOKYO
from tests.browser.conftest import TABLET, assert_accessible, screenshot, sign_in_staff


@pytest.fixture
def browser_context_options():
    return {**TABLET, "locale": "ja-JP"}


def _flag(live_server):
    return flag_path(live_server.app.config)


def _seen_now(live_server):
    live_server.rt.maintenance._checked = -10.0  # the worker looks at the flag at its next request


def test_the_maintenance_page_in_japanese_and_english_with_its_planned_end(page, live_server):
    now = utcnow()
    services.turn_on(_flag(live_server), now, message="サーバー機器の交換を行っています。", until=now + timedelta(hours=3))
    _seen_now(live_server)
    response = page.goto(live_server("/"))
    assert response.status == 503 and int(response.headers["retry-after"]) > 3 * 3600 - 120
    assert page.locator("h1").inner_text() == "ただいまメンテナンス中です"
    assert "再開予定：" in page.locator(".maintenance-until").first.inner_text()
    assert "Expected back:" in page.locator("section[lang=en]").inner_text()
    assert_accessible(page)
    screenshot(page, "maintenance-full")


def test_read_only_mode_shows_a_banner_and_says_when_registration_is_back(page, live_server):
    now = utcnow()
    services.turn_on(_flag(live_server), now, until=now + timedelta(hours=2), read_only=True)
    _seen_now(live_server)
    assert page.goto(live_server("/")).status == 200
    banner = page.locator(".maintenance-banner")
    assert "貸出・予約・利用者登録を一時停止しています" in banner.inner_text() and "再開予定" in banner.inner_text()
    assert_accessible(page)
    screenshot(page, "maintenance-read-only-home")
    assert page.goto(live_server("/search?q=本")).status == 200
    assert page.goto(live_server("/register")).status == 503
    assert page.locator("h1").inner_text() == "この機能は一時停止しています"
    assert_accessible(page)
    screenshot(page, "maintenance-read-only-register")


def test_an_admin_plans_a_stop_sees_it_announced_and_ends_it(page, live_server):
    sign_in_staff(page, live_server, "admin")
    page.goto(live_server("/staff/"))
    page.get_by_role("link", name="メンテナンスモード").tap()
    page.wait_for_url("**/staff/maintenance")
    assert_accessible(page)
    start = (utcnow() + timedelta(days=4)).astimezone(TOKYO).replace(hour=2, minute=0)
    page.fill("#message", "システム更新のため")
    page.fill("#at", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#until", (start + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"))
    with page.expect_navigation():
        page.get_by_role("button", name="メンテナンスモードにする").tap()
    assert "予定あり" in page.locator(".maintenance-state").inner_text()
    assert_accessible(page)
    screenshot(page, "maintenance-admin-planned")
    patron = page.context.browser.new_context(**TABLET, locale="ja-JP").new_page()
    patron.goto(live_server("/"))
    notice = patron.locator(".announcements")
    assert "システムメンテナンスのお知らせ" in notice.inner_text() and f"{start.month}月{start.day}日" in notice.inner_text()
    screenshot(patron, "maintenance-announced-on-home")
    patron.context.close()
    with page.expect_navigation():
        page.get_by_role("button", name="メンテナンスモードを解除する").tap()
    assert "通常運用中です" in page.locator(".maintenance-state").inner_text()
    assert not _flag(live_server).exists()


def test_the_backups_page(page, live_server):
    with live_server.rt.db.scope() as session:
        session.add(BackupRun(kind="backup", started_at=utcnow() - timedelta(days=1), ok=True, file_name="elibrary-backup-20261204T180000Z.tar",
                              size=52_428_800, files=1200, new_files=12, new_bytes=48_000_000, message="backup: done"))
        session.add(BackupRun(kind="drill", started_at=utcnow() - timedelta(days=1), ok=True, file_name="elibrary-backup-20261204T180000Z.tar",
                              message="verified: 5000 rows in 46 tables, 1200 files, a sample patron decrypts (keys from backup)"))
        session.add(BackupRun(kind="backup", started_at=utcnow(), ok=False, file_name="elibrary-backup-20261205T180000Z.tar",
                              message="OSError: [Errno 28] No space left on device"))
    sign_in_staff(page, live_server, "admin")
    page.goto(live_server("/staff/backups"))
    assert "失敗" in page.locator(".backup-runs").inner_text() and "50.0 MB" in page.locator(".backup-runs").inner_text()
    assert_accessible(page)
    screenshot(page, "backups-admin")
