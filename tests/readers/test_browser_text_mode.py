"""The text-only mode in Chromium: reached by the second Tab on any page, axe-clean, readable without scripts."""
from __future__ import annotations

from tests.browser.conftest import assert_accessible
from tests.readers.conftest import shot, sign_in
from tests.readers.test_views import licensed


def test_a_keyboard_user_reaches_the_text_mode_borrows_and_reads(live_server, browser):
    from tests.readers.conftest import new_context

    rt = live_server.rt
    title_id, _patron_id, card = licensed(rt)
    context = new_context(browser, live_server, viewport={"width": 1024, "height": 768}, locale="ja-JP")
    page = context.new_page()
    try:
        sign_in(page, live_server, card)
        page.goto(live_server("/"))
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent").startswith("テキスト版")
        page.keyboard.press("Enter")
        page.wait_for_url("**/text/")
        assert_accessible(page)
        page.goto(live_server(f"/text/titles/{title_id}"))
        assert_accessible(page)
        page.get_by_role("button", name="借りる").click()
        page.get_by_role("link", name="テキスト版で読む").click()
        assert page.get_by_role("heading", name="一", exact=True).count() == 1
        assert "非人情" in page.locator("main").inner_text()
        assert_accessible(page)
        shot(page, "text-mode-book")
        page.get_by_role("link", name="マイ本棚").click()
        assert_accessible(page)
    finally:
        context.close()
