"""A pupil signs in with the school's account in Chromium: our page, the real provider's login, back signed in."""
from __future__ import annotations

import pytest

from elibrary.schools import sso
from tests.browser.conftest import TABLET, assert_accessible, screenshot
from tests.schools.oidc_provider import CLIENT_ID, CLIENT_SECRET, start_provider, stop_provider
from tests.schools.signin_factories import make_pupil, make_school


@pytest.fixture
def browser_context_options() -> dict:
    return {**TABLET, "locale": "ja-JP"}


@pytest.fixture
def provider(live_server):
    running = start_provider([live_server("/school/sso/callback")])
    rt = live_server.rt
    with rt.db.scope() as session:
        school = make_school(session, "S001", "さくら小学校")
        make_pupil(session, rt.cipher, school, "hana2345", email="hana@sakura.ed.example.jp")
        sso.save_provider(session, rt.cipher, "S001", enabled=True, issuer=running.issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                          hosted_domains="sakura.ed.example.jp", tenant_ids="", email_domains="")
    yield running
    stop_provider(running)


def _forget_the_providers_font(live_server) -> None:
    # oidc-provider's development login page asks for a Google font; the guard aborted it. Our pages ask for nothing.
    live_server.external_requests[:] = [u for u in live_server.external_requests if not u.startswith("https://fonts.googleapis.com/")]


def test_a_pupil_signs_in_with_the_school_account(page, live_server, provider):
    page.goto(live_server("/login"))
    page.get_by_role("link", name="学校のタブレットでログイン（QRコード・学校のアカウント）").tap()
    page.wait_for_url(live_server("/school/signin"))
    page.get_by_role("link", name="さくら小学校").wait_for()
    assert_accessible(page)
    page.get_by_role("link", name="さくら小学校").tap()
    page.locator("input[name=login]").fill("hana")
    page.locator("input[name=password]").fill("any")
    page.locator("button[type=submit]").click()
    page.locator("button[type=submit]").click()  # the provider's consent
    page.wait_for_url(live_server("/"))
    assert page.get_by_role("button", name="ログアウト", exact=True).count() == 1
    _forget_the_providers_font(live_server)


def test_an_account_of_another_domain_is_told_plainly(page, live_server, provider):
    page.goto(live_server("/school/signin"))
    page.get_by_role("link", name="さくら小学校").tap()
    page.locator("input[name=login]").fill("outsider")
    page.locator("input[name=password]").fill("any")
    page.locator("button[type=submit]").click()
    page.locator("button[type=submit]").click()
    page.get_by_role("alert").filter(has_text="この学校のアカウントではありません").wait_for()
    assert_accessible(page)
    screenshot(page, "school-sso-unlisted")
    _forget_the_providers_font(live_server)
