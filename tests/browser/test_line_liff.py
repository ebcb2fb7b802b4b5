"""The LIFF page in Chromium: link a card (NG for a wrong password), refused second link, signed-in launch, the card.

The page runs the real LIFF SDK from npm with LINE's ``@line/liff-mock`` plugin (``ELIBRARY_LINE_LIFF_MOCK``);
the mock hands out ID tokens that the fake LINE API on loopback verifies, and every server step is the real one.
"""
from __future__ import annotations

import json

import pytest

from elibrary.line import sdk
from tests.browser.conftest import PHONE, assert_accessible, new_context
from tests.line.fakeline import CHANNEL_ID, FakeLine


@pytest.fixture(autouse=True)
def _needs_the_sdk():
    try:
        sdk.module_files()
    except sdk.SDKMissing:
        pytest.skip("@line/liff is not installed in readers/node_modules (make frontend)")


@pytest.fixture
def fake_line(httpserver) -> FakeLine:
    return FakeLine(httpserver).install()


@pytest.fixture
def live_server_config(live_server_config, fake_line):
    return {
        **live_server_config,
        "ELIBRARY_ILS": "fake",
        "ELIBRARY_LINE_LOGIN_CHANNEL_ID": CHANNEL_ID,
        "ELIBRARY_LINE_LIFF_ID": CHANNEL_ID + "-abcdefgh",
        "ELIBRARY_LINE_API_BASE": fake_line.base,
        "ELIBRARY_CARD_CHECK_DIGIT": "mod10w21",
        "ELIBRARY_LINE_LIFF_MOCK": True,
    }


@pytest.fixture
def browser_context_options():
    return {**PHONE, "locale": "ja-JP"}


def _open_liff(browser, live_server, options, id_token):
    """A new phone context whose LIFF SDK hands out ``id_token``."""
    context = new_context(browser, live_server, **options)
    context.add_init_script(f"window.__liffMockIdToken = {json.dumps(id_token)};")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(10_000)
    page.goto(live_server("/line/liff"))
    return context, page, errors


def test_link_refuse_launch_and_card(browser, live_server, fake_line, browser_context_options):
    live_server.rt.ils.add("12345678", "pass-1234")
    token, user = fake_line.issue_token()
    context, page, errors = _open_liff(browser, live_server, browser_context_options, token)
    page.wait_for_selector("#liff-link-form:not([hidden])")
    assert page.evaluate("typeof window.liffMock") != "undefined"  # the official mock plugin is what answered
    assert_accessible(page)
    page.fill("#card", "1234 5678")
    page.fill("#pin", "wrong")
    page.click("#liff-link-form button[type=submit]")
    page.wait_for_selector("#liff-error:not([hidden])")
    assert page.inner_text("#liff-error") == "利用者番号またはパスワードが正しくありません。"
    page.fill("#pin", "pass-1234")
    page.click("#liff-link-form button[type=submit]")
    page.wait_for_selector("#liff-linked:not([hidden])")
    assert "連携しました" in page.inner_text("#liff-status")
    assert errors == []
    context.close()

    other_token, _ = fake_line.issue_token()  # another LINE user tries the same card
    context, page, errors = _open_liff(browser, live_server, browser_context_options, other_token)
    page.wait_for_selector("#liff-link-form:not([hidden])")
    page.fill("#card", "12345678")
    page.fill("#pin", "pass-1234")
    page.click("#liff-link-form button[type=submit]")
    page.wait_for_selector("#liff-error:not([hidden])")
    assert "別のLINEアカウント" in page.inner_text("#liff-error")
    assert errors == []
    context.close()

    launch_token, _ = fake_line.issue_token(user)  # the linked user opens the app again from LINE
    context, page, errors = _open_liff(browser, live_server, browser_context_options, launch_token)
    page.wait_for_url(live_server("/shelf"))
    page.goto(live_server("/card"))
    assert page.inner_text(".card-number") == "12345678"
    assert page.locator(".card-barcode svg rect").count() > 20
    assert_accessible(page)
    assert errors == []
    context.close()
    assert not live_server.external_requests
