"""The e-book stocktake in a browser: upload the distributor's report, fix a line by touch, accessible."""
from __future__ import annotations

from datetime import date

import pytest

from elibrary.lending.supply import add_license
from tests.browser.conftest import TABLET, assert_accessible, screenshot, sign_in_staff
from tests.lending.factories import make_title


@pytest.fixture
def browser_context_options():
    return {**TABLET, "locale": "ja-JP"}


def test_upload_compare_and_fix(page, live_server, tmp_path):
    with live_server.rt.db.scope() as session:
        fewer = make_title(session, isbn="9784000000024", title="冊数が違う本")
        add_license(session, fewer.id, "concurrent", copies=5, until=date(2027, 3, 31))
        extra = make_title(session, isbn="9784000000055", title="取次にない本")
        add_license(session, extra.id, "one-copy")
    report = tmp_path / "licences.csv"
    report.write_bytes("ISBN,書名,同時貸出数,有効期限\n9784000000024,冊数が違う本,2,2027-03-31\n".encode("cp932"))
    sign_in_staff(page, live_server, "librarian")
    page.goto(live_server("/staff/"))
    page.get_by_role("link", name="蔵書点検（電子書籍）").tap()
    page.wait_for_url("**/staff/stocktake")
    assert_accessible(page)
    page.set_input_files("#file", str(report))
    with page.expect_navigation():
        page.get_by_role("button", name="読み込んで比べる").tap()
    assert page.locator(".stocktake-lines tbody tr").count() == 2
    assert_accessible(page)
    screenshot(page, "stocktake-differences")
    with page.expect_navigation():
        page.get_by_role("button", name="修正: 9784000000024 同時貸出数が違う").tap()
    assert page.locator(".stocktake-lines tbody tr").count() == 1
    assert "修正しました" in page.locator(".flash").first.inner_text()
    screenshot(page, "stocktake-after-fix")
