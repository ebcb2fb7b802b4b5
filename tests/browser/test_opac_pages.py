"""The OPAC in Chromium: axe-core finds no violations, keyboard use, tablet and phone layouts."""
from __future__ import annotations

import pytest

from tests.browser.catalog_data import seed_catalog
from tests.browser.conftest import PHONE, TABLET, assert_accessible, new_context, screenshot


@pytest.fixture
def catalog(live_server):
    return seed_catalog(live_server.rt)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_home_search_and_title_pages_have_no_axe_violations(page, live_server, catalog, lang):
    for name, path in (
        ("home", "/"),
        ("search", "/search?q=%E5%A4%8F%E7%9B%AE"),
        ("search-facets", "/search?audience=children&sort=reading"),
        ("title", f"/titles/{catalog['銀河鉄道の夜']}"),
        ("title-placeholder", f"/titles/{catalog['くまのおさんぽ']}"),
        ("shelf", "/shelves/recommended"),
        ("login", "/login"),
        ("search-empty", "/search?q=zzzzzz"),
        ("search-too-long", "/search?q=" + "あ" * 300),
    ):
        page.goto(live_server(f"{path}{'&' if '?' in path else '?'}lang={lang}"))
        screenshot(page, f"{name}-{lang}")
        assert_accessible(page)


def test_keyboard_reaches_the_search_box_and_the_results(page, live_server, catalog):
    page.goto(live_server("/"))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Tab")  # the text-only mode (テキスト版), second on every page
    assert page.evaluate("document.activeElement.getAttribute('href')") == "/text/"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "site-q"
    page.keyboard.type("夏目")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=*")
    for _ in range(40):  # tab on until the first result's title link has the focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('.result h2') !== null"):
            break
    else:
        pytest.fail("the keyboard never reached a result")
    focused = page.evaluate("document.activeElement.textContent")
    assert "こころ" in focused or "吾輩は猫である" in focused
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # visible focus
    page.keyboard.press("Enter")
    page.wait_for_url("**/titles/*")
    assert page.locator("h1").inner_text()


def test_skip_link_moves_focus_to_the_main_content(page, live_server, catalog):
    page.goto(live_server("/"))
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def _assert_touch_friendly(page):
    """Every visible link and button in the header, facets, sorts and pagination is at least 44px tall."""
    small = page.evaluate(
        """() => Array.from(document.querySelectorAll(
                '.site-header a, .site-header button, .site-header input, .facet a, .sorts a, .pagination a, .kids-links a, .tiles a'))
            .filter(el => el.offsetParent !== null)
            .map(el => [el.textContent.trim() || el.id, el.getBoundingClientRect().height])
            .filter(([, h]) => h < 44)"""
    )
    assert small == []


def _assert_no_horizontal_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("device", ["tablet", "phone"])
def test_tablet_and_phone_layouts(browser, live_server, catalog, device):
    context = new_context(browser, live_server, locale="ja-JP", **(TABLET if device == "tablet" else PHONE))
    try:
        page = context.new_page()
        for name, path in (("home", "/"), ("search", "/search?audience=children"), ("title", f"/titles/{catalog['こころ']}")):
            page.goto(live_server(path))
            _assert_no_horizontal_scroll(page)
            _assert_touch_friendly(page)
            screenshot(page, f"{device}-{name}")
        page.goto(live_server("/search?q=%E3%81%AE"))
        page.locator(".result h2 a").first.tap()  # touch, not a mouse
        page.wait_for_url("**/titles/*")
        if device == "phone":
            page.goto(live_server("/search?q=%E3%81%AE"))
            page.locator(".jump-to-facets").tap()  # the filters sit below the results on a phone
            page.wait_for_url("**#facets")
            assert page.locator(".facets .facet a").first.is_visible()
            screenshot(page, "phone-search-filters-open")
    finally:
        context.close()
    assert not live_server.external_requests


def test_forced_colours_keep_controls_outlined(page, live_server, catalog):
    page.emulate_media(forced_colors="active")
    page.goto(live_server("/search?audience=children"))
    border = page.evaluate("getComputedStyle(document.querySelector('.sorts a')).borderTopStyle")
    assert border == "solid"  # buttons-as-links stay visible when backgrounds are removed
    page.locator(".facet a").first.focus()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    screenshot(page, "forced-colors-search", full_page=False)
