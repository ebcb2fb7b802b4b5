"""The security events page and the staff-walls refusal in Chromium: axe-core, filters, a tablet viewport."""
from __future__ import annotations

import pytest

from elibrary.security import events
from tests.browser.conftest import assert_accessible, screenshot, sign_in_staff


@pytest.fixture
def live_server_config(live_server_config):
    live_server_config["ELIBRARY_STAFF_NETWORKS"] = "127.0.0.0/8"
    return live_server_config


@pytest.fixture
def browser_context_options() -> dict:
    return {"viewport": {"width": 1280, "height": 800}, "locale": "ja-JP", "has_touch": True}  # a 10-inch tablet, landscape


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_security_events_page_filters_and_is_accessible(page, live_server, lang):
    rt = live_server.rt
    with rt.db.scope() as session:
        for kind in ("signin.failure", "signin.failure", "signin.lockout", "import.run"):
            events.record_security_event(session, kind, actor_kind="patron", subject=events.subject_ref(rt.cipher, "card", "20240001"),
                                         address="192.0.2.44", detail={"counters": "pair"} if kind == "signin.lockout" else None)
    page.goto(live_server("/"))
    sign_in_staff(page, live_server, "admin")
    page.goto(live_server(f"/staff/?lang={lang}"))
    page.get_by_role("link", name="セキュリティイベント" if lang == "ja" else "Security events").click()
    page.wait_for_selector("table caption")
    assert page.locator("tbody tr").count() == 4
    page.select_option("#kind", "signin.lockout")
    with page.expect_navigation():
        page.locator("form.security-filter button[type=submit]").tap()
    assert page.locator("tbody tr").count() == 1 and "192.0.2.44" in page.locator("tbody").inner_text()
    screenshot(page, f"security-events-{lang}")
    assert_accessible(page)


def test_the_refusal_outside_the_walls_is_accessible(page, live_server):
    live_server.app.config["ELIBRARY_STAFF_NETWORKS"] = ""  # (read once at start: a second app with other walls)
    from elibrary import create_app

    config = dict(live_server.app.config)
    config.update(ELIBRARY_STAFF_NETWORKS="192.0.2.0/24", ELIBRARY_INSTANCE_PATH=live_server.app.instance_path)
    walled = create_app({k: v for k, v in config.items() if k.startswith("ELIBRARY_") or k == "TESTING"})
    from threading import Thread

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, walled, threaded=True)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{server.server_port}/staff/login")
        assert "この場所からは職員用ページを使えません" in page.locator("h1").inner_text()
        screenshot(page, "staff-walls-refused")
        assert_accessible(page)
    finally:
        server.shutdown()
        server.server_close()
        walled.extensions["elibrary"].db.dispose()
