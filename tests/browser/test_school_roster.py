"""A librarian imports a school roster in the browser: upload → dry-run diff → confirm; a pupil then signs in."""
from __future__ import annotations

from playwright.sync_api import expect

from elibrary.schools import directory
from tests.browser.conftest import assert_accessible, new_context, screenshot, sign_in_staff
from tests.schools.conftest import roster_csv

ROWS = [("0101", 3, 2, 1, "髙橋 﨑子", "たかはし さきこ", "", "児童"), ("0101", 3, 2, 2, "", "", "", "児童"), ("0101", 3, 2, 3, "", "", "", "児童"),
        ("101", 3, 2, 4, "", "", "", "児童"), ("0101", "", 2, 5, "", "", "", "児童"), ("0101", 3, 2, "", "", "", "", "教員")]


def test_librarian_uploads_checks_and_confirms_a_roster_then_a_pupil_signs_in(page, browser, live_server, tmp_path):
    with live_server.rt.db.scope() as session:
        directory.add_school(session, "0101", "さくら市立さくら小学校", "elementary")
    roster = tmp_path / "名簿.csv"
    roster.write_bytes(roster_csv(ROWS, encoding="cp932"))
    page.goto(live_server("/"))
    sign_in_staff(page, live_server, "librarian")
    page.goto(live_server("/staff/"))
    page.locator("a", has_text="学校の名簿の取り込み").click()
    assert_accessible(page)
    page.set_input_files("#roster-file", str(roster))
    page.fill("#roster-year", "2026")
    page.locator("#roster-check").click()
    expect(page.locator("h1")).to_contain_text("名簿の確認")
    expect(page.locator('[data-count="new"]')).to_have_text("4")
    expect(page.locator('[data-count="rejected"]')).to_have_text("2")
    expect(page.locator("#roster-rejected")).to_contain_text("「0101」の先頭の0が消えていませんか")
    expect(page.locator("#roster-rejected")).to_contain_text("学年がありません")
    screenshot(page, "school-roster-dry-run")
    assert_accessible(page)
    page.locator("#roster-confirm").click()
    expect(page.locator("h1")).to_contain_text("名簿を取り込みました")
    rows = page.locator("#roster-credentials tbody tr")
    expect(rows).to_have_count(4)
    screenshot(page, "school-roster-imported")
    assert_accessible(page)
    first = rows.first.locator("code")
    login_id, password = first.nth(0).inner_text(), first.nth(1).inner_text()

    pupil = new_context(browser, live_server, viewport={"width": 1024, "height": 768}, has_touch=True, locale="ja-JP")
    tablet = pupil.new_page()
    tablet.goto(live_server("/login"))
    tablet.fill("#card", login_id.capitalize())  # the tablet's keyboard capitalises the first letter
    tablet.fill("#pin", password)
    tablet.locator("form.form button[type=submit]").click()
    tablet.wait_for_url(live_server("/"))
    pupil.close()


def test_librarian_previews_applies_and_undoes_the_april_rollover(page, live_server, tmp_path):
    from elibrary.schools import services
    from elibrary.schools.directory import Actor

    with live_server.rt.db.scope() as session:
        directory.add_school(session, "0101", "さくら市立さくら小学校", "elementary")
        services.import_roster(session, live_server.rt.cipher, roster_csv([("0101", 5, 1, 1, "", "", "", "児童"), ("0101", 6, 1, 1, "", "", "", "児童"),
                                                                            ("0101", 6, 1, 2, "", "", "", "児童")]), Actor(), year=2026, dry_run=False)
    new_roster = tmp_path / "2027.csv"
    new_roster.write_bytes(roster_csv([("0101", 6, 2, 1, "", "", "", "児童"), ("0101", 1, 1, 1, "", "", "", "児童")]))
    page.goto(live_server("/"))
    sign_in_staff(page, live_server, "librarian")
    page.goto(live_server("/admin/schools/rollover"))
    page.fill("#rollover-year", "2027")
    page.set_input_files("#rollover-roster", str(new_roster))
    page.locator("form.form button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text("年度更新の確認")
    expect(page.locator('[data-count="promote"]')).to_have_text("1")
    expect(page.locator('[data-count="graduate"]')).to_have_text("2")
    screenshot(page, "school-rollover-preview")
    assert_accessible(page)
    page.locator("#rollover-confirm").click()
    expect(page.locator("h1")).to_contain_text("年度更新を行いました")
    assert_accessible(page)
    page.goto(live_server("/admin/schools/rollover"))
    page.locator("button", has_text="この年度更新を取り消す").click()
    expect(page.locator("body")).to_contain_text("年度更新を取り消しました")
    assert_accessible(page)
