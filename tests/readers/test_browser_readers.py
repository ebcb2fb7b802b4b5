"""The readers in real Chromium: vertical Japanese, fixed layout, PDF, ruby, read-aloud, positions, access."""
from __future__ import annotations

import pytest

from elibrary.lending import services as lending
from elibrary.patrons.models import Patron
from tests.readers.conftest import new_context, shot, sign_in
from tests.readers.factories import PDF, make_book, make_epub2, make_patron, make_pdf, make_sample, manga_epub


def book_frame(page, must_contain: str | None = None):
    """The frame showing book content (a blob: document inside foliate's shadow DOM)."""
    def find():
        for frame in page.frames:
            if not frame.url.startswith("blob:") or frame.is_detached():
                continue
            try:
                if must_contain is None or must_contain in frame.content():
                    return frame
            except Exception:  # replaced while we looked (foliate swaps frames between sections)
                continue
        return None

    for _ in range(100):
        frame = find()
        if frame is not None:
            return frame
        page.wait_for_timeout(100)
    raise AssertionError(f"no book frame containing {must_contain!r}")


def wait_until(page, expression: str, timeout: float = 10.0) -> None:
    """Poll ``expression`` in the page (wait_for_function would eval under our CSP, which forbids it)."""
    import time

    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        page.wait_for_timeout(100)


def eventually(check, timeout: float = 10.0):
    """Poll ``check()`` until it returns something truthy (renders settle at their own pace under load)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except AssertionError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            return check()
        time.sleep(0.1)


def settled(page, read, rounds: int = 3):
    """``read()`` once it gives the same value ``rounds`` times in a row, 150 ms apart."""
    value, same = read(), 0
    for _ in range(60):
        page.wait_for_timeout(150)
        current = read()
        same = same + 1 if current == value else 0
        value = current
        if same >= rounds - 1:
            break
    return value


def open_reader(page, live_server, title_id: int):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # The reader says itself when the book is open (data-ready); the page's load event, which also waits for the
    # book's resources, is not waited for under the 10 s default: on a busy CI machine it once took longer.
    page.goto(live_server(f"/read/{title_id}"), wait_until="domcontentloaded")
    page.wait_for_selector("body[data-ready=true]", timeout=20_000)
    assert not errors, errors
    return errors


def go_to_chapter_one(page):
    page.get_by_role("button", name="目次").click()
    page.locator("#toc a", has_text="一").first.click()
    return book_frame(page, "非人情")


VISIBLE_PARAGRAPHS = """([dx, dy, top, bottom]) => [...document.querySelectorAll('p')]
    .map((p, index) => ({ index, rects: [...p.getClientRects()]
        .map(r => ({ left: r.left + dx, right: r.right + dx, top: r.top + dy, bottom: r.bottom + dy }))
        .filter(r => r.top >= top - 1 && r.bottom <= bottom + 1 && r.right - r.left > 1) }))
    .filter(p => p.rects.length)"""


def visible_paragraphs(page, frame):
    """Paragraphs with a fragment on screen now, in document order, with their on-screen boxes."""
    box = frame.frame_element().bounding_box()
    area = page.locator("#book").bounding_box()
    return frame.evaluate(VISIBLE_PARAGRAPHS, [box["x"], box["y"], area["y"], area["y"] + area["height"]])


def test_kusamakura_is_vertical_and_next_page_moves_right_to_left(live_server, page):
    with live_server.rt.db.scope() as session:
        title_id = make_sample(session, live_server.rt.storage, license="open").id
    open_reader(page, live_server, title_id)
    frame = go_to_chapter_one(page)
    paragraph = frame.locator("p").nth(3)
    assert paragraph.evaluate("p => getComputedStyle(p).writingMode") == "vertical-rl"
    assert frame.evaluate("getComputedStyle(document.body).writingMode") == "vertical-rl"
    page.wait_for_timeout(300)
    shot(page, "kusamakura-chapter-one")
    middle = page.viewport_size["width"] / 2

    before = settled(page, lambda: visible_paragraphs(page, frame))
    first, last = before[0], before[-1]
    # On a page, the text runs right to left: the earliest paragraph is rightmost, the latest leftmost.
    assert max(r["right"] for r in first["rects"]) > max(r["right"] for r in last["rects"])
    assert min(r["left"] for r in last["rects"]) < middle
    fraction = float(page.locator("body").get_attribute("data-fraction"))

    next_button = page.get_by_role("button", name="次のページ")
    assert next_button.get_attribute("id") == "turn-left"  # rtl: "next" is the left-hand button
    next_button.click()
    assert eventually(lambda: float(page.locator("body").get_attribute("data-fraction")) > fraction)
    after = settled(page, lambda: visible_paragraphs(page, frame))
    shot(page, "kusamakura-next-page")
    # The text that ended at the left edge goes on at the right edge of the next page.
    continued = after[0]
    assert continued["index"] in (last["index"], last["index"] + 1)
    assert max(r["right"] for r in continued["rects"]) > middle
    assert after[-1]["index"] > last["index"]

    indices = lambda: [p["index"] for p in visible_paragraphs(page, frame)]  # noqa: E731
    page.keyboard.press("ArrowRight")  # → goes back in a right-to-left book
    assert eventually(lambda: indices() == [p["index"] for p in before])
    settled(page, indices)
    page.keyboard.press("ArrowLeft")  # ← goes forward
    assert settled(page, indices) == [p["index"] for p in after]
    assert page.locator("#progress").get_attribute("dir") == "rtl"


def test_ruby_can_be_hidden_and_shown(live_server, page):
    with live_server.rt.db.scope() as session:
        title_id = make_sample(session, live_server.rt.storage, license="open").id
    open_reader(page, live_server, title_id)
    frame = go_to_chapter_one(page)
    rt_display = "() => getComputedStyle(document.querySelector('rt')).display"
    assert frame.evaluate(rt_display) != "none"
    page.get_by_role("button", name="表示設定").click()
    page.get_by_label("ルビを表示する").uncheck()
    assert eventually(lambda: frame.evaluate(rt_display) == "none")
    page.get_by_label("ゴシック").check()
    page.get_by_label("セピア").check()
    page.get_by_role("button", name="閉じる").last.click()
    assert eventually(lambda: "Sans" in frame.evaluate("getComputedStyle(document.querySelector('p')).fontFamily"))
    shot(page, "kusamakura-no-ruby-sepia-gothic")
    page.get_by_role("button", name="表示設定").click()
    page.get_by_label("ルビを表示する").check()
    assert eventually(lambda: frame.evaluate(rt_display) != "none")


SPEECH_STUB = """
window.__speech = { spoken: [], cancelled: 0 };
window.SpeechSynthesisUtterance = class { constructor(text) { this.text = text; this.lang = ''; this.rate = 1; this.voice = null; } };
const voice = { lang: 'ja-JP', name: 'テスト音声', voiceURI: 'test-ja', localService: true, default: true };
Object.defineProperty(window, 'speechSynthesis', { configurable: true, value: {
  getVoices: () => [voice],
  speak(u) {
    window.__speech.spoken.push({ text: u.text, lang: u.lang, rate: u.rate, voice: u.voice && u.voice.name });
    if (window.__speech.spoken.length < 3) setTimeout(() => u.onend && u.onend(), 20);
  },
  cancel() { window.__speech.cancelled++; },
  pause() {}, resume() {}, speaking: false, pending: false,
  addEventListener() {}, removeEventListener() {},
}});
"""


def test_read_aloud_speaks_japanese_sentences_without_ruby_and_stops(live_server, page):
    with live_server.rt.db.scope() as session:
        title_id = make_sample(session, live_server.rt.storage, license="open").id
    page.add_init_script(SPEECH_STUB)
    open_reader(page, live_server, title_id)
    go_to_chapter_one(page)
    page.get_by_role("button", name="読み上げ").click()
    page.get_by_label("速さ").select_option("1.25")
    page.get_by_role("button", name="このページから読み上げる").click()
    wait_until(page, "window.__speech.spoken.length >= 3")
    spoken = page.evaluate("window.__speech.spoken")
    first = spoken[0]
    assert first["lang"] == "ja-JP" and first["voice"] == "テスト音声" and first["rate"] == 1.25
    assert [s["text"] for s in spoken[:2]] == ["一", "山路を登りながら、こう考えた。"]  # the heading, then the text
    assert not any("やまみち" in s["text"] for s in spoken)  # 山路<rt>やまみち</rt>: the reading is not spoken
    assert all(s["text"].strip() for s in spoken)
    assert page.locator("body").get_attribute("data-tts") == "playing"
    shot(page, "kusamakura-read-aloud")
    page.get_by_role("button", name="停止").click()
    assert page.evaluate("window.__speech.cancelled") >= 1
    assert page.locator("body").get_attribute("data-tts") == "stopped"


# The boxes of the page frames a fixed-layout renderer shows (foliate-js ``getContents``), in page coordinates.
SHOWN_FRAMES = """() => {
    const view = document.querySelector('foliate-view')
    const frames = (view?.renderer?.getContents?.() ?? []).map(({ doc }) => doc?.defaultView?.frameElement)
    return frames
        .filter(f => f && getComputedStyle(f).display !== 'none' && getComputedStyle(f).visibility !== 'hidden')
        .map(f => f.getBoundingClientRect())
        .filter(r => r.width > 0 && r.height > 0)
        .map(r => ({ x: r.x, y: r.y, width: r.width, height: r.height }))
}"""


def test_fixed_layout_shows_a_spread_right_page_first_on_landscape(live_server, browser):
    with live_server.rt.db.scope() as session:
        title_id = make_book(session, live_server.rt.storage, manga_epub(), license="open").id
    context = new_context(browser, live_server, viewport={"width": 1280, "height": 800}, has_touch=True, locale="ja-JP")
    page = context.new_page()
    try:
        open_reader(page, live_server, title_id)
        assert page.locator("body").get_attribute("data-layout") == "pre-paginated"
        page.get_by_role("button", name="次のページ").click()

        def spread_boxes():
            # The page frames as the renderer reports them (its shadow root is closed). Playwright's frame
            # tree is not used: it sometimes never learns of a blob: frame created there.
            boxes = page.evaluate(SHOWN_FRAMES)
            return sorted(boxes, key=lambda b: b["x"])

        boxes = eventually(lambda: len(spread_boxes()) == 2 and spread_boxes()) or spread_boxes()
        page.wait_for_timeout(300)
        shot(page, "manga-spread")
        assert len(boxes) == 2, boxes  # a two-page spread on a landscape screen
        assert boxes[0]["x"] + boxes[0]["width"] <= boxes[1]["x"] + 1
        assert boxes[0]["height"] <= 800 - 58  # the whole spread fits the screen
        page.get_by_role("button", name="表示設定").click()
        page.get_by_label("200%").check()
        page.keyboard.press("Escape")
        assert eventually(lambda: max(b["width"] for b in spread_boxes()) > boxes[0]["width"] * 1.5)
        shot(page, "manga-zoomed")
    finally:
        context.close()


def test_pdf_renders_with_thumbnails_zoom_and_search(live_server, page):
    with live_server.rt.db.scope() as session:
        title_id = make_book(session, live_server.rt.storage, make_pdf(50), PDF, license="open").id
    open_reader(page, live_server, title_id)
    page.wait_for_selector(".pdfViewer .page canvas")
    assert page.evaluate("window.elibraryReader.viewer.pagesCount") == 50
    assert page.locator(".pdfViewer .page").count() == 1  # one page at a time: turns land on page boundaries
    page.wait_for_timeout(300)
    shot(page, "pdf-first-page")
    page.get_by_role("button", name="検索").click()
    page.get_by_label("検索する言葉").fill("needle")
    page.get_by_label("検索する言葉").press("Enter")
    result = page.locator(".search-result").first
    result.wait_for()
    assert "37" in result.inner_text()
    result.click()
    wait_until(page, "document.body.dataset.page === '37'")
    page.get_by_role("button", name="表示設定").click()
    page.get_by_label("拡大", exact=True).click()
    page.get_by_role("button", name="閉じる").last.click()
    page.get_by_role("button", name="目次").click()
    page.wait_for_selector("#thumbnails button")
    assert page.locator("#thumbnails button").count() == 50
    assert page.locator("#toc a", has_text="第2章").count() == 1
    page.wait_for_timeout(500)
    shot(page, "pdf-thumbnails")


def test_position_saved_on_one_device_is_restored_on_another(live_server, browser, page):
    rt = live_server.rt
    with rt.db.scope() as session:
        title_id = make_sample(session, rt.storage).id
        patron, card = make_patron(session, rt.cipher)
        lending.borrow(session, patron, title_id)
    sign_in(page, live_server, card)
    open_reader(page, live_server, title_id)
    go_to_chapter_one(page)
    page.get_by_role("button", name="次のページ").click()
    page.wait_for_timeout(300)
    page.get_by_role("button", name="しおり", exact=True).click()
    wait_until(page, "Number(document.body.dataset.saved || 0) >= 1")
    saved_fraction = float(page.locator("body").get_attribute("data-fraction"))
    assert saved_fraction > 0

    other = new_context(browser, live_server, viewport={"width": 1024, "height": 768}, locale="ja-JP")
    tablet = other.new_page()
    try:
        sign_in(tablet, live_server, card)
        open_reader(tablet, live_server, title_id)
        book_frame(tablet, "非人情")  # opened at chapter one, not at the cover
        assert float(tablet.locator("body").get_attribute("data-fraction")) == pytest.approx(saved_fraction, abs=0.02)
        tablet.get_by_role("button", name="しおり一覧").click()
        assert tablet.locator("#bookmarks li button").count() == 2  # the bookmark and its remove button
        shot(tablet, "restored-on-second-device")
    finally:
        other.close()


def test_resource_urls_fail_as_soon_as_the_loan_is_returned(live_server, page):
    rt = live_server.rt
    with rt.db.scope() as session:
        title_id = make_sample(session, rt.storage).id
        patron, card = make_patron(session, rt.cipher)
        loan_id = lending.borrow(session, patron, title_id).id
        patron_id = patron.id
    sign_in(page, live_server, card)
    open_reader(page, live_server, title_id)
    # As the engine asks: the content URL (on the content host, if there is one) with the page's content token.
    fetch = """entry => {
        const data = JSON.parse(document.getElementById('book-data').textContent)
        return fetch(data.base + entry, { credentials: 'omit', headers: { [data.contentHeader]: data.contentToken } })
            .then(r => r.status)
    }"""
    assert page.evaluate(fetch, "OPS/xhtml/%E4%B8%80.xhtml") == 200
    with rt.db.scope() as session:
        lending.return_loan(session, session.get(Patron, patron_id), loan_id)
    assert page.evaluate(fetch, "OPS/xhtml/%E4%B8%80.xhtml") in (403, 404)
    assert page.evaluate(fetch, "OPS/css/vertical.css") in (403, 404)
    page.get_by_role("button", name="目次").click()  # the reader now asks for a chapter it has not loaded
    page.locator("#toc a", has_text="十三").first.click()
    page.get_by_role("alert").filter(has_text="貸出期間が終了").wait_for()
    shot(page, "loan-ended")


def test_a_script_inside_a_book_never_runs(live_server, page, tmp_path):
    import io
    import zipfile

    from elibrary.books.packing import pack_epub_directory
    from tests.readers.factories import KUSAMAKURA

    data = io.BytesIO(pack_epub_directory(KUSAMAKURA))
    with zipfile.ZipFile(data) as source:
        entries = {info.filename: source.read(info) for info in source.infolist()}
    cover = entries["OPS/xhtml/表紙.xhtml"].decode()
    evil = ("<script>try { parent.document.title = 'pwned'; } catch (e) {} "
            "try { top.document.body.dataset.pwned = document.cookie || 'yes'; } catch (e) {}</script>")
    entries["OPS/xhtml/表紙.xhtml"] = cover.replace("</body>", evil + "<img src='x' onerror=\"top.document.body.dataset.pwned='img'\"/></body>").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    with live_server.rt.db.scope() as session:
        title_id = make_book(session, live_server.rt.storage, out.getvalue(), license="open").id
    violations = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)
    open_reader(page, live_server, title_id)
    book_frame(page, "pwned")
    eventually(lambda: violations or page.locator("body").get_attribute("data-pwned"))
    page.wait_for_timeout(300)
    assert page.title() != "pwned"
    assert page.locator("body").get_attribute("data-pwned") is None
    assert violations  # the browser refused the book's script under our policy


@pytest.mark.parametrize("kind", ["epub", "pdf"])
def test_reader_controls_pass_axe_and_work_from_the_keyboard(live_server, page, kind):
    from tests.browser.conftest import assert_accessible

    with live_server.rt.db.scope() as session:
        if kind == "epub":
            title_id = make_sample(session, live_server.rt.storage, license="open").id
        else:
            title_id = make_book(session, live_server.rt.storage, make_pdf(5), PDF, license="open").id
    open_reader(page, live_server, title_id)
    assert_accessible(page, context={"exclude": [["foliate-view"], ["#viewerContainer"]]})
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "本文へ移動"
    page.get_by_role("button", name="表示設定").focus()
    page.keyboard.press("Enter")
    assert page.locator("#settings-panel").evaluate("d => d.open")
    assert_accessible(page)
    page.keyboard.press("Escape")
    assert not page.locator("#settings-panel").evaluate("d => d.open")


def test_an_epub2_book_opens_with_its_ncx_contents_and_turns_by_touch(live_server, browser):
    with live_server.rt.db.scope() as session:
        title_id = make_book(session, live_server.rt.storage, make_epub2(), license="open").id
    context = new_context(browser, live_server, viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True,
                          locale="ja-JP")
    page = context.new_page()
    try:
        open_reader(page, live_server, title_id)
        assert "親譲りの無鉄砲" in book_frame(page, "第一章").content()
        page.get_by_role("button", name="目次").click()
        assert page.locator("#toc a").all_inner_texts() == ["第一章", "第二章"]
        page.get_by_role("button", name="閉じる").first.click()
        page.touchscreen.tap(350, 500)  # a tap on the right third: next page in a left-to-right book
        book_frame(page, "第二章")
        wait_until(page, "Number(document.body.dataset.fraction) > 0.4")
        shot(page, "epub2-phone")
    finally:
        context.close()


def test_media_overlay_plays_the_recorded_narration_and_highlights_the_text(live_server, page):
    from tests.readers.factories import W3C

    with live_server.rt.db.scope() as session:
        title_id = make_sample(session, live_server.rt.storage, W3C / "mol-audio", license="open").id
    open_reader(page, live_server, title_id)
    page.get_by_role("button", name="読み上げ").click()
    overlay = page.get_by_role("button", name="収録音声で再生")
    overlay.click()
    frame = book_frame(page, 'id="first"')
    for _ in range(100):
        if frame.evaluate("document.getElementById('first')?.classList.contains('my-active-class')"):
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError("the narrated sentence was never marked active")
    assert overlay.get_attribute("aria-pressed") == "true"
    shot(page, "media-overlay")
    overlay.click()  # pause
