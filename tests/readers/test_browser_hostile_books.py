"""Issue #11 item 1 in real Chromium: nothing in a book runs as the reader, with one host or a content origin.

The hostile EPUB (``hostile_books``) tries relative, absolute and neighbour-title script URLs (on the site
and on the content host), data: and blob: scripts (foliate turns relative references into blob: URLs),
scripts and handlers inside inline and standalone SVG, inline handlers, a meta refresh, forms, iframes,
objects and embeds aimed at the site, and javascript:/data: links; the hostile PDF carries JavaScript in
its open action, page action, named scripts and links. Any attempt that works requests ``/pwned/…``.
Each test runs on one host and with a content origin (``live_server`` in tests/readers/conftest.py).
"""
from __future__ import annotations

import io

import pytest

from elibrary.catalog.files import attach_book_file
from elibrary.catalog.models import Title
from elibrary.lending import services as lending
from tests.readers.conftest import sign_in
from tests.readers.factories import PDF, make_book, make_patron
from tests.readers.hostile_books import hostile_epub, hostile_pdf
from tests.readers.test_browser_readers import book_frame, open_reader


class Attacks:
    """What the page's context saw: requests that only a working attack makes, dialogs, new windows."""

    def __init__(self, page):
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.popups: list[str] = []
        context = page.context
        context.on("request", self._request)
        context.on("page", lambda popup: self.popups.append(popup.url))
        page.on("dialog", self._dialog)
        # Fulfil the attacks' own requests (the site would answer 404) so they are seen, then recorded.
        context.route("**/pwned/**", lambda route: route.fulfill(status=204))

    def _request(self, request) -> None:
        url = request.url
        if "/pwned/" in url or url.rstrip("/").endswith("/shelf"):
            self.requests.append(url)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


def _hostile_titles(live_server) -> tuple[int, int, str]:
    """A neighbour (open) title holding evil.js, and the hostile title lent to a new patron; returns ids and card."""
    rt = live_server.rt
    main, content = live_server.url, live_server.content_url or live_server.url
    with rt.db.scope() as session:
        neighbour = Title(title="隣の本")
        hostile = Title(title="罠の本")
        session.add_all([neighbour, hostile])
        session.flush()
        for title in (neighbour, hostile):
            data = hostile_epub(main, content, title.id, neighbour.id, book_title=title.title)
            attach_book_file(session, rt.storage, title, io.BytesIO(data), "application/epub+zip")
        lending.add_license(session, neighbour.id, "open")
        lending.add_license(session, hostile.id, "one-copy", copies=1)
        patron, card = make_patron(session, rt.cipher)
        lending.borrow(session, patron, hostile.id)
        return hostile.id, neighbour.id, card


FRAME_SANDBOXES = """() => (document.querySelector('foliate-view')?.renderer?.getContents?.() ?? [])
    .map(({ doc }) => doc?.defaultView?.frameElement?.getAttribute('sandbox'))"""


# On WebKit the book frames keep allow-scripts (events from the page never reach them otherwise): pretend to
# be Safari, and the page's policy alone must stop every vector.
AS_WEBKIT = "Object.defineProperty(Navigator.prototype, 'vendor', { get: () => 'Apple Computer, Inc.' })"


@pytest.mark.parametrize("sandbox", ["allow-same-origin", "allow-same-origin allow-scripts"], ids=["chromium", "as-webkit"])
def test_nothing_in_a_hostile_epub_runs_as_the_reader(live_server, page, sandbox):
    title_id, _neighbour_id, card = _hostile_titles(live_server)
    sign_in(page, live_server, card)  # a signed-in patron: the attacks want their cookies, CSRF token and shelf
    if "allow-scripts" in sandbox:
        page.add_init_script(AS_WEBKIT)
    attacks = Attacks(page)
    refused, errors = [], []
    page.on("console", lambda message: refused.append(message.text))
    open_reader(page, live_server, title_id)
    page.on("pageerror", lambda error: errors.append(str(error)))
    reader_url = page.url
    frame = book_frame(page, "罠の本。")
    # Chromium: no allow-scripts, forms, popups or navigation for the book at all.
    assert page.evaluate(FRAME_SANDBOXES) == [sandbox]

    frame.locator("#evil-submit").click()  # a patron tricked into pressing the book's button
    frame.locator("#evil-link").click()
    frame.locator("#evil-data-link").click()
    assert "罠の本。" in book_frame(page, "罠の本。").content()  # the book itself still shows

    # Chapter two: a refresh to the site, and our own reader modules loaded with the book's settings.
    page.get_by_role("button", name="目次").click()
    page.locator("#toc a", has_text="二章").first.click()
    if "allow-scripts" not in sandbox:  # Chromium: the sandbox refuses the refresh, the chapter stays
        book_frame(page, "罠の二章。")
    page.wait_for_timeout(1500)  # (as WebKit: the policy refuses the refresh, leaving an error page in the frame)

    assert attacks.requests == [], attacks.requests
    assert attacks.dialogs == [] and attacks.popups == []
    assert page.locator("body").get_attribute("data-pwned") is None
    assert page.url == reader_url and page.locator("body").get_attribute("data-ready") == "true"
    assert any("Content Security Policy" in text or "sandbox" in text for text in refused)  # and said why
    if "allow-scripts" in sandbox:  # our reader module, loaded by the book, saw it was framed and did nothing
        assert any("not run inside a frame" in error for error in errors), errors


def test_content_urls_need_a_token_and_cookies_never_reach_the_content_host(live_server, page):
    title_id, _neighbour_id, card = _hostile_titles(live_server)
    sign_in(page, live_server, card)
    seen = []
    page.context.on("request", lambda request: seen.append(request))
    open_reader(page, live_server, title_id)
    book_frame(page, "罠の本。")
    content = [r for r in seen if "/r/OPS/" in r.url]
    assert content, "the reader fetched no book content"
    for request in content:
        headers = request.all_headers()
        assert "cookie" not in headers  # the engine sends the token, never the session
        assert headers.get("x-content-token") and headers["x-content-token"] not in request.url
        if live_server.content_url:
            assert request.url.startswith(live_server.content_url + "/read/")

    chapter = f"/read/{title_id}/r/OPS/chapter.xhtml"
    fetch = "url => fetch(url, { credentials: 'include' }).then(r => r.status, () => 'refused')"
    if live_server.content_url:
        # With a content host, the main host serves no book content, even to the signed-in borrower,
        # and the content host answers nothing without a token (the cookie is not even sent there).
        assert page.evaluate(fetch, live_server(chapter)) == 404
        assert page.evaluate(fetch, live_server.content_url + chapter) in (401, "refused")
        assert page.evaluate(fetch, live_server.content_url + "/shelf") in (404, "refused")
    else:
        assert page.evaluate(fetch, live_server(chapter)) == 200  # single host: the signed-in session still works


def test_javascript_inside_a_pdf_never_runs(live_server, page):
    with live_server.rt.db.scope() as session:
        title_id = make_book(session, live_server.rt.storage, hostile_pdf(live_server.url), PDF, license="open").id
    attacks = Attacks(page)
    open_reader(page, live_server, title_id)
    reader_url = page.url
    page.wait_for_selector(".pdfViewer .page canvas")
    page.wait_for_timeout(500)
    for link in page.locator(".annotationLayer a").all():  # whatever links pdf.js drew from the annotations
        link.click()
    page.mouse.click(*_page_point(page, 200, 605))  # where the JavaScript link lies
    page.mouse.click(*_page_point(page, 200, 505))  # where the javascript: URI link lies
    page.wait_for_timeout(1000)
    assert attacks.requests == [] and attacks.dialogs == [] and attacks.popups == []
    assert page.url == reader_url


def _page_point(page, x: float, y: float) -> tuple[float, float]:
    """Screen coordinates of PDF point (x, y) on the first page (612 × 792 points, origin bottom left)."""
    box = page.locator(".pdfViewer .page").first.bounding_box()
    scale = box["width"] / 612
    return box["x"] + x * scale, box["y"] + (792 - y) * scale
