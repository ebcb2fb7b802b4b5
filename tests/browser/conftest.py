"""Browser fixtures: the app served on a loopback port, Debian's Chromium through Playwright, axe-core.

``live_server`` serves a fresh app (SQLite copied from the migrated template, a temporary instance
folder) from a thread; seed data with ``live_server.rt.db.scope()`` (it commits, so the server sees it).
Override ``live_server_config`` in a module to change settings. ``page`` is a fresh browser context
per test that refuses every request leaving 127.0.0.1 and fails the test if one was tried.
``assert_accessible(page)`` fails on any axe-core violation.

Other areas reuse these with ``from tests.browser.conftest import assert_accessible`` and by placing
their browser tests under ``tests/browser/`` (or importing the fixtures into their own conftest).
"""
from __future__ import annotations

import logging
import re
import shutil
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from elibrary import create_app
from elibrary.runtime import Runtime
from tests.conftest import make_test_config

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

TABLET = {"viewport": {"width": 1180, "height": 820}, "has_touch": True, "is_mobile": False, "device_scale_factor": 1}
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2}


def pytest_collection_modifyitems(items):
    """Every test under tests/browser/ carries the ``browser`` marker (``-m 'not browser'`` skips them)."""
    here = Path(__file__).resolve().parent
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(here):
            item.add_marker(pytest.mark.browser)


SLOW_REQUEST_SECONDS = 5.0


def watched(app: Flask):
    """``app``, logging every thread's stack when a request has run ``SLOW_REQUEST_SECONDS``: a request that
    stalls in a browser test (a sign-in POST did, twice, in full runs) then shows in the test's report where it waits."""

    def serve(environ, start_response):
        what = f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"
        timer = threading.Timer(SLOW_REQUEST_SECONDS, _log_every_stack, args=(what,))
        timer.daemon = True
        timer.start()
        try:
            return app(environ, start_response)
        finally:
            timer.cancel()

    return serve


def _log_every_stack(what: str) -> None:
    frames = sys._current_frames()
    stacks = "".join(f"--- {thread.name}\n" + "".join(traceback.format_stack(frames[thread.ident]))
                     for thread in threading.enumerate() if thread.ident in frames)
    logging.getLogger("tests.live_server").warning("%s still running after %.0f s; every thread:\n%s", what, SLOW_REQUEST_SECONDS, stacks)


@dataclass
class LiveServer:
    """A running app: ``url`` is its base URL (no trailing slash)."""

    app: Flask
    url: str
    external_requests: list[str] = field(default_factory=list)
    content_url: str | None = None  # a second origin on loopback serving book content (ELIBRARY_CONTENT_URL)

    @property
    def rt(self) -> Runtime:
        """The served app's runtime (commit through ``rt.db.scope()`` so the server sees the data)."""
        return self.app.extensions["elibrary"]

    def __call__(self, path: str = "/") -> str:
        """Absolute URL of ``path``."""
        return self.url + path


@pytest.fixture
def live_server_config(tmp_path, sqlite_template) -> dict:
    """Settings of the served app: SQLite and the test defaults of ``tests.conftest.make_test_config``."""
    path = tmp_path / "live.db"
    shutil.copyfile(sqlite_template, path)
    return make_test_config(tmp_path / "live-instance", f"sqlite:///{path}")


@pytest.fixture
def live_server(live_server_config):
    """The app served by werkzeug on a free 127.0.0.1 port from a daemon thread."""
    app = create_app(live_server_config)
    server = make_server("127.0.0.1", 0, watched(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["elibrary"].db.dispose()


class _Shared:
    """One Playwright driver and one Chromium per test process.

    Other areas re-export these fixtures from their own conftest, which makes pytest hold several
    session-scoped copies; a second ``sync_playwright()`` in the same process fails, so every copy
    shares this one, and the last to finish closes it.
    """

    users = 0
    playwright = None
    chromium = None

    @classmethod
    def acquire(cls):
        if cls.users == 0:
            from playwright.sync_api import sync_playwright

            cls.playwright = sync_playwright().start()
            cls.chromium = cls.playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        cls.users += 1
        return cls

    @classmethod
    def release(cls) -> None:
        cls.users -= 1
        if cls.users == 0:
            cls.chromium.close()
            cls.playwright.stop()
            cls.playwright = cls.chromium = None


@pytest.fixture(scope="session")
def playwright_instance():
    """Playwright's driver, once per test run."""
    pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    shared = _Shared.acquire()
    yield shared.playwright
    _Shared.release()


@pytest.fixture(scope="session")
def browser(playwright_instance):
    """Headless Debian Chromium, shared by the run's tests (each gets its own context)."""
    yield _Shared.chromium


@pytest.fixture
def browser_context_options() -> dict:
    """Options for ``browser.new_context``; override in a module (e.g. ``return TABLET``)."""
    return {"viewport": {"width": 1280, "height": 900}, "locale": "ja-JP"}


@pytest.fixture
def page(browser, live_server, browser_context_options):
    """A page in a fresh context; any request off 127.0.0.1 is aborted and fails the test."""
    context = new_context(browser, live_server, **browser_context_options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    # Page loads get Playwright's own 30 s: on a busy CI machine (the suite, Chromium and PostgreSQL on two cores) a
    # page's load event has twice taken over 10 s in a full run, while no test alone ever came near it.
    page.set_default_navigation_timeout(30_000)
    yield page
    context.close()
    assert not live_server.external_requests, f"external requests attempted: {live_server.external_requests}"


def new_context(browser, live_server: LiveServer, **options):
    """A browser context that keeps the page on the loopback server (no fonts, scripts or CSS from elsewhere)."""
    context = browser.new_context(**options)
    local = re.compile(r"^(https?://127\.0\.0\.1[:/]|data:|blob:|about:)")

    def guard(route):
        url = route.request.url
        if local.match(url) or (live_server.content_url and url.startswith(live_server.content_url + "/")):
            route.continue_()
        else:
            live_server.external_requests.append(url)
            route.abort()

    context.route("**/*", guard)
    return context


def assert_accessible(page, context=None, *, disable_rules: tuple[str, ...] = ()) -> None:
    """Run axe-core on the page as it is now; fail listing every violation and the elements concerned."""
    from axe_playwright_python.sync_playwright import Axe

    options: dict = {"resultTypes": ["violations"]}
    if disable_rules:
        options["rules"] = {rule: {"enabled": False} for rule in disable_rules}
    results = Axe().run(page, context=context, options=options)
    violations = results.response["violations"]
    if violations:
        lines = [f"{len(violations)} axe-core violation(s) on {page.url}:"]
        for violation in violations:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
            for node in violation["nodes"][:5]:
                lines.append(f"    {node['target']}: {node.get('failureSummary', '').splitlines()[-1:]}")
        pytest.fail("\n".join(lines))


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """Save a PNG under ``test-artifacts/`` (gitignored) and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if full_page:  # lazy images below the fold would otherwise be blank
        page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(img => { img.loading = 'eager'; })")
        # Polled with evaluate: wait_for_function evals its predicate in the page, which the site's CSP forbids.
        for _ in range(100):
            if page.evaluate("Array.from(document.images).every(img => img.complete)"):
                break
            page.wait_for_timeout(100)
    page.screenshot(path=str(path), full_page=full_page)
    return path


def sign_in_staff(page, live_server: LiveServer, role: str = "librarian") -> None:
    """Sign a new staff member into the page's context with a session cookie made by the app itself.

    Staff sign-in (password + TOTP) has its own tests; here only the outcome matters. The session
    carries flask-login's identifier for this browser's address and user agent ("strong" protection).
    """
    from flask_login.utils import _create_identifier

    from elibrary.security import sessions
    from elibrary.staff.services import add_staff

    with live_server.rt.db.scope() as session:
        user, _password = add_staff(session, f"{role}-{id(page)}@city.example.jp", role, "S1" if role == "teacher" else None)
        sid = sessions.start(session, f"s:{user.id}")
    agent = page.evaluate("navigator.userAgent")
    client = live_server.app.test_client()
    with live_server.app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": agent}):
        identifier = _create_identifier()
    with client.session_transaction() as sess:
        sess.update({"_user_id": f"s:{user.id}", "_fresh": True, "_id": identifier, "_sid": sid})
    cookie = client.get_cookie(live_server.app.config.get("SESSION_COOKIE_NAME", "session"))
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
