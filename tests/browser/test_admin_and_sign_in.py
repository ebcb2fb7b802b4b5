"""Sign-in and the staff admin in Chromium: axe-core, error states, a whole add-title round trip."""
from __future__ import annotations

import pytest

from tests.browser.catalog_data import seed_catalog
from tests.browser.conftest import assert_accessible, screenshot, sign_in_staff


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_sign_in_page_and_its_error_state_are_accessible(page, live_server, lang):
    page.goto(live_server(f"/login?lang={lang}"))
    assert_accessible(page)
    page.fill("#card", "12345678")
    page.fill("#pin", "0000")
    page.locator("form.form button[type=submit]").click()
    page.wait_for_selector("[role=alert]")
    screenshot(page, f"login-error-{lang}")
    assert_accessible(page)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_admin_pages_are_accessible(page, live_server, lang):
    ids = seed_catalog(live_server.rt, covers=False)
    page.goto(live_server("/"))
    sign_in_staff(page, live_server)
    for name, path in (
        ("admin-titles", "/admin/titles"),
        ("admin-new", "/admin/titles/new"),
        ("admin-edit", f"/admin/titles/{ids['こころ']}/edit"),
        ("admin-shelves", "/admin/shelves"),
        ("admin-shelf", "/admin/shelves/recommended"),
    ):
        page.goto(live_server(f"{path}?lang={lang}"))
        assert page.url.endswith(f"{path}?lang={lang}"), page.url  # not sent to sign-in
        screenshot(page, f"{name}-{lang}")
        assert_accessible(page)


def test_add_a_title_by_hand_and_find_it(page, live_server):
    page.goto(live_server("/"))
    sign_in_staff(page, live_server, "admin")
    page.goto(live_server("/admin/titles/new"))
    page.fill("#f-title", "手で登録した本")
    page.fill("#f-isbn", "978-4-10-101001-3")  # wrong check digit
    page.fill("#c0-name", "登録花子")
    page.fill("#c0-reading", "トウロク ハナコ")
    page.locator("form.form button[type=submit]").click()
    alert = page.locator("[role=alert]")
    assert "ISBN" in alert.inner_text()
    assert page.locator("#f-title").input_value() == "手で登録した本"  # kept
    assert page.locator("#f-isbn").get_attribute("aria-invalid") == "true"
    screenshot(page, "admin-new-error")
    assert_accessible(page)
    page.fill("#f-isbn", "978-4-10-101001-4")
    page.locator("form.form button[type=submit]").click()
    page.wait_for_url("**/admin/titles/*/edit")
    assert "登録しました" in page.locator(".flash").inner_text()
    page.goto(live_server("/search?q=%E6%89%8B%E3%81%A7%E7%99%BB%E9%8C%B2"))
    assert page.locator(".result h2").first.inner_text().endswith("手で登録した本")
