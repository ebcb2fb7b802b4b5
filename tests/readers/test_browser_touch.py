"""The readers by touch (GIGA tablets, phones): swipes in the book's direction, pinch-zoom, the phone layout.

Touches are real input events from Chromium's DevTools protocol (``Input.dispatchTouchEvent``), in a
context with touch emulation, so they reach the book frames as a finger's would.
"""
from __future__ import annotations

import pytest

from tests.browser.conftest import assert_accessible
from tests.readers.conftest import new_context, shot
from tests.readers.factories import PDF, make_book, make_pdf, make_sample, manga_epub
from tests.readers.test_browser_readers import SHOWN_FRAMES, book_frame, eventually, open_reader, settled, wait_until

TABLET = {"width": 1024, "height": 768}
WIDE_TABLET = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def touch_context(browser, live_server, viewport: dict):
    """A context that behaves like a touch device of that size (a phone when narrow)."""
    return new_context(browser, live_server, viewport=viewport, has_touch=True, is_mobile=viewport["width"] < 600,
                       locale="ja-JP")


def swipe(page, dx: float, *, y: float | None = None, x: float | None = None, steps: int = 6) -> None:
    """One finger from (x, y) moved ``dx`` pixels sideways (negative: to the left), then lifted."""
    cdp = page.context.new_cdp_session(page)
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    x = width / 2 - dx / 2 if x is None else x
    y = height / 2 if y is None else y
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for step in range(1, steps + 1):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x + dx * step / steps, "y": y}]})
        page.wait_for_timeout(16)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def pinch(page, factor: float, steps: int = 6) -> None:
    """Two fingers around the middle of the screen, spread (factor > 1) or pinched together."""
    cdp = page.context.new_cdp_session(page)
    cx, cy = page.viewport_size["width"] / 2, page.viewport_size["height"] / 2
    start = 60

    def points(spread: float):
        return [{"x": cx - spread, "y": cy, "id": 0}, {"x": cx + spread, "y": cy, "id": 1}]

    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": points(start)})
    for step in range(1, steps + 1):
        spread = start * (1 + (factor - 1) * step / steps)
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": points(spread)})
        page.wait_for_timeout(16)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def fraction(page) -> float:
    return float(page.locator("body").get_attribute("data-fraction") or 0)


@pytest.mark.parametrize("viewport", [TABLET, PHONE], ids=["tablet", "phone"])
def test_swipes_turn_a_vertical_right_to_left_book_in_its_direction(live_server, browser, viewport):
    with live_server.rt.db.scope() as session:
        title_id = make_sample(session, live_server.rt.storage, license="open").id
    context = touch_context(browser, live_server, viewport)
    page = context.new_page()
    try:
        open_reader(page, live_server, title_id)
        url, history = page.url, page.evaluate("history.length")
        page.get_by_role("button", name="目次").click()
        page.locator("#toc a", has_text="一").first.click()
        book_frame(page, "非人情")
        start = settled(page, lambda: fraction(page))
        swipe(page, 160)  # a right swipe: "next" in a right-to-left book
        after = eventually(lambda: settled(page, lambda: fraction(page)) > start and fraction(page))
        assert after > start
        swipe(page, -160)  # a left swipe goes back
        assert eventually(lambda: settled(page, lambda: fraction(page)) < after)
        swipe(page, 200, x=2)  # from the very edge of the screen: still a page turn, never "back"
        page.wait_for_timeout(500)
        assert page.url == url and page.evaluate("history.length") == history
        assert page.evaluate("getComputedStyle(document.body).overscrollBehaviorX") == "none"
        shot(page, f"kusamakura-swiped-{viewport['width']}")
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [WIDE_TABLET, PHONE], ids=["tablet", "phone"])
def test_swipes_turn_a_right_to_left_picture_book_and_a_pinch_zooms_it(live_server, browser, viewport):
    with live_server.rt.db.scope() as session:
        title_id = make_book(session, live_server.rt.storage, manga_epub(6), license="open").id
    context = touch_context(browser, live_server, viewport)
    page = context.new_page()
    try:
        open_reader(page, live_server, title_id)
        url = page.url
        eventually(lambda: page.evaluate(SHOWN_FRAMES))
        first = settled(page, lambda: page.evaluate(SHOWN_PAGES))
        swipe(page, 200)  # right swipe = next in a right-to-left book
        second = eventually(lambda: settled(page, lambda: page.evaluate(SHOWN_PAGES)) != first
                            and page.evaluate(SHOWN_PAGES))
        assert second and second != first and min(second) > min(first)
        swipe(page, -200)
        assert eventually(lambda: page.evaluate(SHOWN_PAGES) == first)
        swipe(page, 200)
        eventually(lambda: page.evaluate(SHOWN_PAGES) == second)
        assert page.url == url

        width = lambda: max(box["width"] for box in page.evaluate(SHOWN_FRAMES))  # noqa: E731
        before = settled(page, width)
        pinch(page, 2.0)
        assert eventually(lambda: width() > before * 1.5), (width(), before)
        assert page.evaluate("localStorage.getItem('elibrary-reader-settings')").count("fxlZoom") == 1
        shot(page, f"manga-pinched-{viewport['width']}")
        pinch(page, 0.3)  # back to the whole page, never smaller
        assert eventually(lambda: abs(width() - before) < 2)
        assert page.url == url
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [WIDE_TABLET, PHONE], ids=["landscape", "phone"])
def test_pdf_opens_at_page_fit_on_landscape_turns_whole_pages_by_swipe_and_zooms_by_pinch(live_server, browser, viewport):
    with live_server.rt.db.scope() as session:
        title_id = make_book(session, live_server.rt.storage, make_pdf(8), PDF, license="open").id
    context = touch_context(browser, live_server, viewport)
    page = context.new_page()
    try:
        open_reader(page, live_server, title_id)
        page.wait_for_selector(".pdfViewer .page canvas")
        container = page.locator("#viewerContainer").bounding_box()

        def shown_page():
            return page.evaluate("""() => [...document.querySelectorAll('.pdfViewer .page')]
                .map(p => ({ n: Number(p.dataset.pageNumber), box: p.getBoundingClientRect().toJSON() }))
                .filter(p => p.box.height > 0 && p.box.bottom > 0 && p.box.top < innerHeight)""")

        pages = settled(page, shown_page)
        assert [p["n"] for p in pages] == [1]
        box = pages[0]["box"]
        if viewport["width"] > viewport["height"]:  # landscape: the whole page on the screen
            assert box["top"] >= container["y"] - 1 and box["bottom"] <= container["y"] + container["height"] + 1
        assert box["left"] >= container["x"] - 1 and box["right"] <= container["x"] + container["width"] + 1
        shot(page, f"pdf-page-one-{viewport['width']}")

        swipe(page, -200)  # a left swipe: next page in a left-to-right PDF
        wait_until(page, "document.body.dataset.page === '2'")
        pages = settled(page, shown_page)
        assert [p["n"] for p in pages] == [2]  # page 2 alone, from its top: a page boundary
        assert abs(pages[0]["box"]["top"] - box["top"]) <= 12  # where page 1 was: its top at the top
        swipe(page, 200)
        wait_until(page, "document.body.dataset.page === '1'")

        scale = page.evaluate("window.elibraryReader.viewer.currentScale")
        pinch(page, 2.0)
        assert eventually(lambda: page.evaluate("window.elibraryReader.viewer.currentScale") > scale * 1.5)
        shot(page, f"pdf-pinched-{viewport['width']}")
        settled(page, lambda: page.evaluate("(c => [c.scrollLeft, c.scrollWidth])(document.getElementById('viewerContainer'))"))
        overflows = "(c => c.scrollWidth > c.clientWidth + 1)(document.getElementById('viewerContainer'))"
        if not page.evaluate(overflows):  # a wide screen: zoom further, until the page is wider than it
            pinch(page, 2.0)
            assert eventually(lambda: page.evaluate(overflows))
        settled(page, lambda: page.evaluate("(c => [c.scrollLeft, c.scrollWidth])(document.getElementById('viewerContainer'))"))
        # Zoomed in, a swipe first pans the page; at its edge the next swipe turns.
        swipe(page, -150)
        page.wait_for_timeout(400)
        assert page.locator("body").get_attribute("data-page") == "1"
    finally:
        context.close()


# The page numbers a fixed-layout renderer shows now (each test page's picture has alt="Nページ").
SHOWN_PAGES = """() => {
    const view = document.querySelector('foliate-view')
    return (view?.renderer?.getContents?.() ?? [])
        .filter(({ doc }) => {
            const frame = doc?.defaultView?.frameElement
            return frame && getComputedStyle(frame).display !== 'none' && getComputedStyle(frame.parentElement).display !== 'none'
        })
        .map(({ doc }) => parseInt(doc.querySelector('img')?.alt ?? '0')).sort((a, b) => a - b)
}"""


PHONE_ROW = """selector => {
    const boxes = [...document.querySelectorAll(selector)]
        .filter(el => el.offsetParent !== null && getComputedStyle(el).position !== 'absolute')
        .map(el => el.getBoundingClientRect())
    return { middles: boxes.map(b => Math.round((b.top + b.bottom) / 2)), right: Math.max(...boxes.map(b => b.right)),
             left: Math.min(...boxes.map(b => b.left)), count: boxes.length }
}"""


@pytest.mark.parametrize("kind", ["epub", "fixed", "pdf"])
def test_phone_toolbar_and_footer_each_fit_one_row_and_the_icon_is_served(live_server, browser, kind):
    with live_server.rt.db.scope() as session:
        if kind == "epub":
            title_id = make_sample(session, live_server.rt.storage, license="open").id
        elif kind == "fixed":
            title_id = make_book(session, live_server.rt.storage, manga_epub(), license="open").id
        else:
            title_id = make_book(session, live_server.rt.storage, make_pdf(3), PDF, license="open").id
    context = touch_context(browser, live_server, PHONE)
    page = context.new_page()
    missing = []
    page.on("response", lambda response: missing.append(response.url) if response.status == 404 else None)
    try:
        open_reader(page, live_server, title_id)
        page.wait_for_timeout(300)
        icon = page.locator("link[rel=icon]").get_attribute("href")
        assert page.request.get(live_server(icon)).ok
        assert not missing, missing  # no 404 at all: the icon is linked, absent book entries are not asked for
        for selector in (".reader-tools > *", ".reader-foot > *"):
            row = page.evaluate(PHONE_ROW, selector)
            assert row["count"] >= 2
            assert max(row["middles"]) - min(row["middles"]) <= 2, (selector, row)  # one row
            assert row["left"] >= 0 and row["right"] <= PHONE["width"], (selector, row)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert_accessible(page, context={"exclude": [["foliate-view"], ["#viewerContainer"]]})
        shot(page, f"phone-{kind}")
        page.get_by_role("button", name="表示設定").click()
        shot(page, f"phone-{kind}-settings")
    finally:
        context.close()


def test_a_picture_book_offers_only_the_settings_that_apply(live_server, page):
    with live_server.rt.db.scope() as session:
        title_id = make_book(session, live_server.rt.storage, manga_epub(), license="open").id
    open_reader(page, live_server, title_id)
    page.get_by_role("button", name="表示設定").click()
    panel = page.locator("#settings-panel")
    legends = panel.locator("legend").all_inner_texts()
    assert "拡大・縮小" in legends and "配色" in legends
    for absent in ("文字の大きさ", "行間", "書体", "ルビ（ふりがな）"):
        assert absent not in legends
    assert panel.get_by_label("文字を大きく").count() == 0
    # A landscape screen shows spreads; 「1ページずつ」 shows one page, and turns go page by page.
    page.get_by_role("button", name="閉じる").last.click()
    page.get_by_role("button", name="次のページ").click()
    assert eventually(lambda: len(page.evaluate(SHOWN_FRAMES)) == 2)
    page.get_by_role("button", name="表示設定").click()
    page.get_by_label("1ページずつ").check()
    page.keyboard.press("Escape")
    assert eventually(lambda: len(page.evaluate(SHOWN_FRAMES)) == 1)
    first = page.evaluate(SHOWN_PAGES)
    page.get_by_role("button", name="次のページ").click()
    assert eventually(lambda: page.evaluate(SHOWN_PAGES) != first and len(page.evaluate(SHOWN_PAGES)) == 1)
    shot(page, "manga-single-page")


NO_JAPANESE_VOICE = """
window.__speech = { spoken: [] };
window.SpeechSynthesisUtterance = class { constructor(text) { this.text = text; this.lang = ''; this.rate = 1; this.voice = null; } };
const voices = %s;
Object.defineProperty(window, 'speechSynthesis', { configurable: true, value: {
  getVoices: () => voices,
  speak(u) {
    window.__speech.spoken.push({ text: u.text, lang: u.lang, rate: u.rate, voice: u.voice && u.voice.name });
    if (!voices.length) setTimeout(() => u.onerror && u.onerror({ error: 'synthesis-failed' }), 10);
    else if (window.__speech.spoken.length < 3) setTimeout(() => u.onend && u.onend(), 20);
  },
  cancel() {}, pause() {}, resume() {}, speaking: false, pending: false,
  addEventListener() {}, removeEventListener() {},
}});
"""
ENGLISH_VOICES = """[{ lang: 'en-US', name: 'English voice', voiceURI: 'en', localService: true, default: true },
                   { lang: 'ko-KR', name: 'Korean voice', voiceURI: 'ko', localService: true, default: false }]"""


def test_read_aloud_without_a_japanese_voice_says_so_and_offers_another_voice_slowly(live_server, page):
    with live_server.rt.db.scope() as session:
        title_id = make_sample(session, live_server.rt.storage, license="open").id
    page.add_init_script(NO_JAPANESE_VOICE % ENGLISH_VOICES)
    open_reader(page, live_server, title_id)
    page.get_by_role("button", name="目次").click()
    page.locator("#toc a", has_text="一").first.click()
    book_frame(page, "非人情")
    page.get_by_role("button", name="読み上げ").click()
    note = page.locator("#tts-note")
    assert "日本語の音声がありません" in note.inner_text()
    assert page.get_by_label("速さ").input_value() == "0.75"  # the next best: slower
    assert page.get_by_label("声").locator("option").all_inner_texts() == ["English voice (en-US)", "Korean voice (ko-KR)"]
    page.get_by_label("声").select_option("ko")
    page.get_by_role("button", name="このページから読み上げる").click()
    wait_until(page, "window.__speech.spoken.length >= 2")
    first = page.evaluate("window.__speech.spoken[0]")
    assert first["voice"] == "Korean voice" and first["rate"] == 0.75 and first["lang"] == "ko-KR"
    page.get_by_role("button", name="停止").click()
    page.wait_for_timeout(500)
    assert "日本語の音声がありません" in note.inner_text()  # kept, not replaced by 「停止しました」
    shot(page, "read-aloud-no-japanese-voice")


def test_read_aloud_on_a_device_without_voices_keeps_saying_why(live_server, page):
    with live_server.rt.db.scope() as session:
        title_id = make_sample(session, live_server.rt.storage, license="open").id
    page.add_init_script(NO_JAPANESE_VOICE % "[]")
    open_reader(page, live_server, title_id)
    page.get_by_role("button", name="読み上げ").click()
    page.get_by_role("button", name="このページから読み上げる").click()
    wait_until(page, "document.body.dataset.tts === 'failed'")
    page.wait_for_timeout(300)
    assert "音声が入っていません" in page.locator("#tts-note").inner_text()
    assert page.locator("#tts-status").inner_text() == "読み上げできませんでした。"


FOCUSED = """() => { const el = document.activeElement; const style = getComputedStyle(el);
    return { text: (el.getAttribute('aria-label') || el.textContent || '').trim(), tag: el.tagName,
             outline: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth) } }"""


def tab_to(page, name: str, limit: int = 30) -> dict:
    """Press Tab until the control named ``name`` has the focus; it must show a visible focus ring."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused["text"] == name:
            assert focused["outline"] != "none" and focused["outlineWidth"] >= 2, focused
            return focused
    raise AssertionError(f"Tab never reached {name!r}")


def test_every_reader_control_works_from_the_keyboard(live_server, page):
    from tests.readers.test_browser_readers import SPEECH_STUB

    with live_server.rt.db.scope() as session:
        title_id = make_sample(session, live_server.rt.storage, license="open").id
    page.add_init_script(SPEECH_STUB)
    open_reader(page, live_server, title_id)
    # Contents: open, choose a chapter with Enter, and the dialog closes on the book.
    tab_to(page, "目次")
    page.keyboard.press("Enter")
    assert page.locator("#toc-panel").evaluate("d => d.open")
    for _ in range(10):
        if page.evaluate("document.activeElement.textContent.trim()") == "一":
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    book_frame(page, "非人情")
    assert not page.locator("#toc-panel").evaluate("d => d.open")
    start = settled(page, lambda: fraction(page))
    # Page turns: ← is "next" in this right-to-left book, → goes back; the turn buttons answer Enter.
    page.keyboard.press("ArrowLeft")
    after = eventually(lambda: fraction(page) > start and settled(page, lambda: fraction(page)))
    page.keyboard.press("ArrowRight")
    assert eventually(lambda: fraction(page) < after)
    back = settled(page, lambda: fraction(page))
    page.locator("#turn-left").focus()
    page.keyboard.press("Enter")
    assert eventually(lambda: fraction(page) > back), (start, after, back, fraction(page))
    # Search: type, Enter, the count is announced, a result opens with Enter.
    page.get_by_role("button", name="検索").focus()
    page.keyboard.press("Enter")
    page.keyboard.insert_text("非人情")
    page.keyboard.press("Enter")
    status = page.locator("#search-status")
    assert eventually(lambda: "件見つかりました" in status.inner_text(), timeout=20), status.inner_text()
    assert status.get_attribute("role") == "status"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "search-result"
    page.keyboard.press("Enter")
    assert not page.locator("#search-panel").evaluate("d => d.open")
    # Bookmark: pressed state and an announcement; the list opens, closes with Escape, focus comes back.
    bookmark = page.get_by_role("button", name="しおり", exact=True)
    bookmark.focus()
    page.keyboard.press("Enter")
    assert eventually(lambda: bookmark.get_attribute("aria-pressed") == "true")
    assert eventually(lambda: page.locator("#announcer").inner_text() == "しおりをはさみました。")
    listing = page.get_by_role("button", name="しおり一覧")
    listing.focus()
    page.keyboard.press("Enter")
    assert page.locator("#bookmarks li button").count() == 2
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "しおり一覧"
    # Settings: radios move with the arrow keys.
    page.get_by_role("button", name="表示設定").focus()
    page.keyboard.press("Enter")
    page.get_by_label("セピア").focus()
    page.keyboard.press("ArrowRight")
    assert page.get_by_label("黒（ダーク）").is_checked()
    assert page.evaluate("document.documentElement.className") == "theme-dark"
    page.keyboard.press("Escape")
    # Read-aloud: opening it focuses 「このページから読み上げる」; Enter plays, 停止 stops.
    page.get_by_role("button", name="読み上げ").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "tts-play"
    page.keyboard.press("Enter")
    wait_until(page, "window.__speech.spoken.length >= 1")
    tab_to(page, "停止")
    page.keyboard.press("Enter")
    assert page.locator("body").get_attribute("data-tts") == "stopped"
    assert page.locator("#tts-status").get_attribute("role") == "status"
    assert_accessible(page, context={"exclude": [["foliate-view"]]})
    shot(page, "keyboard-walk")
