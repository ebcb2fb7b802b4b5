"""The 選書・発注 flow in Chromium: import a pool, find with Japanese queries and facets, a list with a
colleague's comment, the fund total moving, an order (CSV and PDF), receiving, and the title borrowable."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from elibrary.catalog.models import BookFile, Title
from elibrary.lending import services as lending
from elibrary.selection.models import LicenseCost
from tests.browser.conftest import ARTIFACTS, assert_accessible, new_context, screenshot, sign_in_staff
from tests.lending.factories import make_patron
from tests.selection.test_pool import POOL_ONIX


def _render_pdf(data: bytes, name: str) -> None:
    """Keep the PDF and a picture of its first page in test-artifacts/ for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}.pdf").write_bytes(data)
    pdfium = pytest.importorskip("pypdfium2")
    document = pdfium.PdfDocument(data)
    document[0].render(scale=1.5).to_pil().save(ARTIFACTS / f"{name}.png")
    document.close()


def test_librarian_selects_orders_receives_and_the_title_becomes_borrowable(page, browser, live_server):
    rt = live_server.rt
    page.goto(live_server("/"))
    sign_in_staff(page, live_server, "librarian")
    page.goto(live_server("/staff/selection/import"))
    page.set_input_files("#pool-file", str(POOL_ONIX))
    page.locator("form.form button[type=submit]").click()
    expect(page.locator("#pool-import-summary")).to_contain_text("2件追加")
    assert_accessible(page)

    page.goto(live_server("/staff/selection/?q=ﾜｶﾞﾊｲ"))  # half-width katakana reading
    assert page.locator(".pool-title-name").all_inner_texts() == ["吾輩は猫である"]
    page.goto(live_server("/staff/selection/"))
    page.locator(".facets a", has_text="児童").click()
    page.wait_for_url("**audience=children**")
    assert page.locator(".pool-title-name").all_inner_texts() == ["はらぺこのくま"]
    screenshot(page, "selection-pool")
    assert_accessible(page)

    page.goto(live_server("/staff/selection/funds"))
    page.fill("#fund-year", "2027")
    page.fill("#fund-name", "児童書")
    page.fill("#fund-amount", "10000")
    page.locator("form.form button[type=submit]").first.click()
    expect(page.locator("#funds")).to_contain_text("児童書")
    page.goto(live_server("/staff/selection/lists"))
    page.fill("#list-name", "春の児童書")
    page.locator("form.form button[type=submit]").click()
    page.wait_for_url("**/lists/*")
    list_url = page.url

    page.goto(live_server("/staff/selection/?audience=children"))
    form = page.locator(".offers form").first
    form.locator("input[name=quantity]").fill("2")
    form.locator("select[name=fund_id]").select_option(label="令和9年度 児童書")
    form.locator("button[type=submit]").click()
    expect(page.locator(".flash").first).to_contain_text("リストに追加しました")

    colleague = new_context(browser, live_server, viewport={"width": 1280, "height": 900}, locale="ja-JP").new_page()
    colleague.goto(live_server("/"))
    sign_in_staff(colleague, live_server, "librarian")
    colleague.goto(list_url)
    colleague.fill(".selection-line input[name=text]", "読み聞かせ会で使います")
    colleague.locator(".selection-line form", has=colleague.locator("input[name=text]")).locator("button").click()
    expect(colleague.locator(".comments")).to_contain_text("読み聞かせ会で使います")
    colleague.context.close()

    page.goto(list_url)
    assert "読み聞かせ会で使います" in page.locator(".comments").inner_text()
    page.locator(".selection-line button[value=adopted]").click()
    expect(page.locator(".selection-line h3")).to_contain_text("[採用]")
    totals = page.locator("#fund-totals tbody tr").inner_text()
    assert "¥3,960" in totals and "¥10,000" in totals
    screenshot(page, "selection-list")
    assert_accessible(page)

    page.locator("#order-heading + form button[type=submit]").click()
    page.wait_for_url("**/orders/*")
    assert page.locator("#order-total").inner_text() == "¥3,960"
    csv_text = page.request.get(page.url + ".csv").body().decode("cp932")
    assert "はらぺこのくま" in csv_text
    pdf = page.request.get(page.url + ".pdf").body()
    assert "発注書" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    _render_pdf(pdf, "selection-order-sheet")
    page.goto(live_server("/staff/selection/funds"))
    assert "¥6,040" in page.locator("#funds").inner_text()  # 10,000 − 3,960 committed

    page.goto(live_server("/staff/selection/orders"))
    page.locator("table a").first.click()
    page.wait_for_url("**/orders/*")
    page.locator("form[action$='/receive'] button").click()
    expect(page.locator(".file-pending")).to_have_count(1)  # ファイル未着: not borrowable yet
    screenshot(page, "selection-order-received")
    assert_accessible(page)
    with rt.db.scope() as session:
        title = session.scalar(select(Title).where(Title.title == "はらぺこのくま"))
        session.add(BookFile(title_id=title.id, storage_key=f"books/{title.id}/test.epub", sha256="0" * 64, size=1,
                             media_type="application/epub+zip"))
        title_id = title.id
    page.locator("form[action$='/files-arrived'] button").click()
    expect(page.locator(".flash").first).to_contain_text("1行のライセンスを有効にしました")
    expect(page.locator(".file-pending")).to_have_count(0)
    with rt.db.scope() as session:
        loan = lending.borrow(session, make_patron(session), title_id)
        assert loan.license_id

    # Renewal advice: an expiring licence with what it cost per loan.
    with rt.db.scope() as session:
        mori = session.scalar(select(Title).where(Title.id == title_id))
        licence = lending.add_license(session, mori.id, "metered-time", copies=1, loans=10,
                                      until=datetime.now(timezone.utc) + timedelta(days=10))
        session.add(LicenseCost(license_id=licence.id, price=3_000, tax=300))
        licence.loans_remaining = 7  # three loans so far
    page.goto(live_server("/staff/selection/renewals"))
    row = page.locator("#renewals tbody tr", has_text="期限").first
    assert "¥1,100" in row.inner_text()  # 3,300 / 3 loans
    screenshot(page, "selection-renewals")
    assert_accessible(page)
    page.goto(live_server("/staff/selection/balance?year=2027"))
    screenshot(page, "selection-balance")
    assert_accessible(page)
