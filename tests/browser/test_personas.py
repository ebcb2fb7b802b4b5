"""Personas walk the site from the home page: search, borrow, read, hold and return, with no dead ends.

A pupil on a 10-inch tablet (touch, 1024×768), a citizen on a phone (390×844) and a citizen on a desktop,
each on the demo collection. On every page visited: every link answers without a 4xx/5xx, every form posts
to a route that exists, and axe-core finds no violation. Screenshots go to ``test-artifacts/persona-*``.
"""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from elibrary.catalog.models import Title
from elibrary.db import utcnow
from elibrary.demo import load_demo
from elibrary.lending import services
from tests.browser.conftest import assert_accessible, new_context, screenshot
from tests.lending.factories import make_patron

PUPIL_TABLET = {"viewport": {"width": 1024, "height": 768}, "has_touch": True, "is_mobile": False, "device_scale_factor": 1, "locale": "ja-JP"}
CITIZEN_PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2, "locale": "ja-JP"}
CITIZEN_DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "ja-JP"}


@pytest.fixture
def demo(live_server):
    """The demo collection, with one more title of each persona's lent to someone else (so they must wait)."""
    rt = live_server.rt
    with rt.db.scope() as session:
        load_demo(session, rt, echo=lambda _line: None)
    with rt.db.scope() as session:
        titles = {t.source_record_id: t.id for t in session.scalars(select(Title).where(Title.source == "demo"))}
        other = make_patron(session, rt.cipher, category="teacher")
        for key in ("robota", "yuki-mori"):
            services.borrow(session, other, titles[key], now=utcnow() - timedelta(days=2))
    return titles


class Walk:
    """One persona's browser: visits pages and checks each for dead ends and accessibility."""

    def __init__(self, page, live_server, name: str, touch: bool):
        self.page, self.server, self.name, self.touch = page, live_server, name, touch
        self.checked: set[str] = set()
        self.step = 0
        self.adapter = live_server.app.url_map.bind("127.0.0.1")

    def press(self, locator) -> None:
        """Tap on a touch screen, click elsewhere."""
        locator.first.scroll_into_view_if_needed()
        locator.first.tap() if self.touch else locator.first.click()

    def submit(self, locator) -> None:
        """Press a form's button and wait for the page it leads to."""
        with self.page.expect_navigation():
            self.press(locator)

    def check(self, label: str, *, axe: bool = True) -> None:
        """Screenshot, axe, and every link and form of the page as it is now."""
        self.step += 1
        self.page.wait_for_load_state("load")
        screenshot(self.page, f"persona-{self.name}-{self.step:02d}-{label}")
        if axe:
            assert_accessible(self.page)
        origin = self.server.url
        for href in self.page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            url = href.split("#", 1)[0]
            if not url.startswith(origin) or url in self.checked:
                continue
            self.checked.add(url)
            response = self.page.request.get(url, max_redirects=5)
            assert response.status < 400, f"{label}: link {url} answered {response.status}"
            if "lang=" in url:  # the language link remembers its choice in a cookie: keep the persona's language
                self.page.request.get(origin + "/?lang=ja")
        for action, method in self.page.eval_on_selector_all("form", "fs => fs.map(f => [f.action, f.method])"):
            path = urlsplit(action).path
            try:
                self.adapter.match(path, method=method.upper())
            except Exception as exc:  # werkzeug's NotFound / MethodNotAllowed
                pytest.fail(f"{label}: form posts to {method.upper()} {path}: {exc!r}")

    def sign_in(self, card: str, pin: str) -> None:
        self.press(self.page.locator("a[href^='/login']"))
        self.page.wait_for_url("**/login*")
        self.check("login")
        self.page.fill("#card", card)
        self.page.fill("#pin", pin)
        self.submit(self.page.locator("form button[type=submit]").last)

    def search(self, words: str) -> None:
        box = self.page.locator("#site-q")
        box.fill(words)
        box.press("Enter")
        self.page.wait_for_url("**/search?*")

    def open_result(self, title: str) -> None:
        self.press(self.page.locator(".result h2 a", has_text=title))
        self.page.wait_for_url("**/titles/*")


def _login_link_visible(page) -> None:
    if page.locator("a[href^='/login']").count() == 0 or not page.locator("a[href^='/login']").first.is_visible():
        toggle = page.locator(".nav-toggle, button[aria-controls]")
        if toggle.count():
            toggle.first.click()


def turn_by_swipe(page) -> None:
    """A finger turns the page (whichever way the book runs) and never takes the browser away from the book."""
    from tests.readers.test_browser_touch import fraction, swipe

    url, history = page.url, page.evaluate("history.length")
    page.wait_for_selector("body[data-fraction]", state="attached")
    start = fraction(page)
    moved = False
    for dx in (-200, 200):  # "next" is a left swipe in a left-to-right book, a right swipe in a right-to-left one
        swipe(page, dx)
        page.wait_for_timeout(800)
        if fraction(page) > start:
            moved = True
            break
    assert moved, "a swipe did not turn the page"
    assert page.url == url and page.evaluate("history.length") == history


def walk(page, live_server, name: str, touch: bool, card: str, borrow: tuple[str, str], wait: tuple[str, str], cannot: tuple[str, str] | None):
    """Home → sign in → search → borrow → read → hold → マイ本棚 → return."""
    w = Walk(page, live_server, name, touch)
    page.goto(live_server("/"))
    w.check("home")
    _login_link_visible(page)
    w.sign_in(card, "1234")
    w.check("home-signed-in")

    w.search(borrow[0])
    w.check("search")
    result = page.locator(".result", has_text=borrow[1])
    assert "すぐ借りられる" in result.first.inner_text()
    w.open_result(borrow[1])
    w.check("title-before-borrow")
    assert "すぐ借りられます" in page.locator(".lending-actions").inner_text()
    w.submit(page.get_by_role("button", name="借りる"))
    assert "借りました" in page.locator("body").inner_text()
    w.check("title-borrowed")
    w.press(page.get_by_role("link", name="読む"))
    page.wait_for_url("**/read/*")
    page.wait_for_timeout(1500)
    w.check("reader", axe=False)  # the readers' own accessibility is tested with the readers
    if touch:
        turn_by_swipe(page)

    if cannot is not None:
        page.goto(live_server("/"))
        w.search(cannot[0])
        row = page.locator(".result", has_text=cannot[1]).first
        assert "借りられません" in row.inner_text()
        w.check("search-cannot")
        w.open_result(cannot[1])
        assert page.get_by_role("button", name="借りる").count() == 0
        assert "借りられません" in page.locator(".lending-actions").inner_text()
        w.check("title-cannot")

    page.goto(live_server("/"))
    w.search(wait[0])
    row = page.locator(".result", has_text=wait[1]).first.inner_text()
    assert "人待ち" in row or "予約できます" in row
    w.open_result(wait[1])
    assert "予約すると、1番目" in page.locator(".lending-actions").inner_text()
    w.submit(page.get_by_role("button", name="予約する"))
    text = page.locator(".lending-actions").inner_text()
    assert "1番目" in text and "待ち時間の目安" in text and re.search(r"\d+〜\d+日|約\d+日", text)
    w.check("title-on-hold")

    w.press(page.locator("a[href='/shelf']"))
    page.wait_for_url("**/shelf")
    w.check("shelf")
    assert page.locator(".shelf-card").count() >= 2 and page.locator("table").count() == 0
    card = page.locator(".shelf-card", has_text=borrow[1])
    w.press(card.get_by_role("link", name="返却する"))
    page.wait_for_url("**/loans/*/return*")
    assert "返却すると、もう読めなくなります" in page.locator("body").inner_text()
    w.check("confirm-return")
    w.submit(page.get_by_role("button", name="返却する"))
    assert "返却しました" in page.locator("body").inner_text()
    assert page.locator(".shelf-card", has_text=borrow[1]).count() == 0
    w.check("shelf-after-return")
    page.goto(live_server("/help"))
    w.check("help")
    return w


def test_a_pupil_on_a_tablet(browser, live_server, demo):
    context = new_context(browser, live_server, **PUPIL_TABLET)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        walk(page, live_server, "pupil-tablet", True, "20000001", ("星座", "はじめての星座観察"), ("ロボ太", "ロボットのロボ太"),
             ("灯台守", "北の海の灯台守"))
    finally:
        context.close()
    assert not live_server.external_requests


def test_a_citizen_on_a_phone(browser, live_server, demo):
    context = new_context(browser, live_server, **CITIZEN_PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        walk(page, live_server, "citizen-phone", True, "10000001", ("灯台守", "北の海の灯台守"), ("雪の森", "雪の森の図書館"), None)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"マイ本棚 is wider than the phone: {width}px"
    finally:
        context.close()
    assert not live_server.external_requests


def test_a_citizen_on_a_desktop(browser, live_server, demo):
    context = new_context(browser, live_server, **CITIZEN_DESKTOP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        w = walk(page, live_server, "citizen-desktop", False, "10000001", ("和菓子", "旅する和菓子"), ("雪の森", "雪の森の図書館"), None)
        for label, path in (("shelf-en", "/shelf?lang=en"), ("title-en", f"/titles/{demo['yuki-mori']}?lang=en"), ("home-en", "/?lang=en")):
            page.goto(live_server(path))
            w.check(label)
            text = page.locator("main").inner_text()
            assert "（" not in text and "）" not in text and not re.search(r"\d{4}-\d{2}-\d{2}", text), text
        page.goto(live_server(f"/titles/{demo['yuki-mori']}?lang=en"))
        assert re.search(r"Estimated wait: (about \d+ days?|\d+ to \d+ days)", page.locator(".lending-actions").inner_text())
        page.goto(live_server("/?lang=ja"))
    finally:
        context.close()
    assert not live_server.external_requests


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_help_pages_and_the_registration_form_have_no_dead_ends(page, live_server, lang):
    w = Walk(page, live_server, f"help-{lang}", False)
    for path in ("/help", "/help/kids", "/help/faq", "/help/apps", "/help/privacy", "/help/about", "/help/manuals/利用者ガイド", "/register"):
        page.goto(live_server(f"{path}?lang={lang}"))
        w.check(path.strip("/").replace("/", "-") or "help")
        if lang == "en":
            page.request.get(live_server(f"/?lang={lang}"))
