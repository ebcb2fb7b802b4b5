"""The browser fixtures themselves: the server answers, outside requests are refused, axe runs."""
import pytest

from tests.browser.conftest import assert_accessible


def test_live_server_serves_the_home_page(page, live_server):
    response = page.goto(live_server("/"))
    assert response.status == 200
    assert page.locator("html").get_attribute("lang") == "ja"


def test_requests_off_loopback_are_refused_and_reported(page, live_server):
    page.goto(live_server("/"))
    page.evaluate("fetch('https://fonts.example.com/x.woff2').catch(() => null)")
    page.wait_for_timeout(200)
    assert live_server.external_requests == []  # the site's CSP (connect-src 'self') stops it in the browser
    page.goto("about:blank")  # a page without the site's policy: the fixture itself must refuse and report
    page.evaluate("fetch('https://fonts.example.com/x.woff2').catch(() => null)")
    page.wait_for_timeout(200)
    assert live_server.external_requests == ["https://fonts.example.com/x.woff2"]
    live_server.external_requests.clear()  # expected here; the fixture would fail the test otherwise


def test_axe_helper_fails_on_a_violation(page, live_server):
    page.goto(live_server("/"))
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=\"/nope.png\">')")
    with pytest.raises(pytest.fail.Exception, match="image-alt"):
        assert_accessible(page)
