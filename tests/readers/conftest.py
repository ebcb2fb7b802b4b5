"""Readers' fixtures: the shared browser fixtures (tests/browser/conftest.py) reused, plus sign-in helpers.

``live_server`` here serves every reader test twice: on one host, and with book content from a second
origin (``ELIBRARY_CONTENT_URL=http://books.localhost:<port>``; Chromium resolves ``*.localhost`` to
loopback itself, so the one server answers both names, and the site's cookies never go to the second).
"""
from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from elibrary import create_app
from tests.browser.conftest import (  # noqa: F401  (fixtures re-exported for tests/readers)
    ARTIFACTS,
    LiveServer,
    browser,
    browser_context_options,
    live_server_config,
    new_context,
    page,
    playwright_instance,
    watched,
)
from tests.readers.factories import PIN


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(params=["single-host", "content-origin"])
def live_server(request, live_server_config):
    """The app on loopback, in single-host mode or with a content origin on ``books.localhost``."""
    port = _free_port()
    content_url = f"http://books.localhost:{port}" if request.param == "content-origin" else None
    app = create_app({**live_server_config, "ELIBRARY_CONTENT_URL": content_url})
    server = make_server("127.0.0.1", port, watched(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=f"http://127.0.0.1:{port}", content_url=content_url)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["elibrary"].db.dispose()


def pytest_collection_modifyitems(items):
    """Tests in ``tests/readers/test_browser_*.py`` drive Chromium: mark them ``browser``."""
    for item in items:
        if Path(str(item.fspath)).name.startswith("test_browser_"):
            item.add_marker(pytest.mark.browser)


def sign_in(page, live_server, card: str, pin: str = PIN) -> None:
    """Sign a patron in through the real sign-in form."""
    page.goto(live_server("/login"))
    page.fill("#card", card)
    page.fill("#pin", pin)
    # the sign-in's navigation, like a page load, gets 30 s: in two full runs one sign-in here waited over 10 s on
    # the busy CI machine (its POST had not finished; the cause is not yet known)
    page.locator("form:has(#pin) [type=submit]").click(timeout=30_000)
    page.wait_for_load_state()


def shot(page, name: str) -> Path:
    """A screenshot of the viewport under test-artifacts/ (look at it)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"readers-{name}.png"
    page.screenshot(path=str(path))
    return path
