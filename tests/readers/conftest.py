"""Readers' fixtures: the shared browser fixtures (tests/browser/conftest.py) reused, plus sign-in helpers."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import (  # noqa: F401  (fixtures re-exported for tests/readers)
    ARTIFACTS,
    browser,
    browser_context_options,
    live_server,
    live_server_config,
    new_context,
    page,
    playwright_instance,
)
from tests.readers.factories import PIN


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
    page.locator("form:has(#pin) [type=submit]").click()
    page.wait_for_load_state()


def shot(page, name: str) -> Path:
    """A screenshot of the viewport under test-artifacts/ (look at it)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"readers-{name}.png"
    page.screenshot(path=str(path))
    return path
