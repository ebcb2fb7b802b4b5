"""A teacher on a tablet signs in once with the staff sign-in, borrows a book and opens the teacher's room (issue #13);
the home page's お知らせ keep their line breaks, escaped (axe, screenshots)."""
from __future__ import annotations

import pytest
from werkzeug.security import generate_password_hash

from elibrary.announcements.models import Announcement
from elibrary.db import utcnow
from elibrary.schools import teacher_links
from elibrary.schools.directory import Actor, current_school_year
from elibrary.staff.services import add_staff
from tests.browser.conftest import TABLET, assert_accessible, screenshot
from tests.lending.factories import make_licensed_title
from tests.schools.signin_factories import make_class, make_pupil, make_school, make_year
from tests.schools.test_teacher_link import make_teacher


@pytest.fixture
def browser_context_options() -> dict:
    return {**TABLET, "locale": "ja-JP"}


@pytest.fixture
def linked_teacher(live_server):
    rt = live_server.rt
    with rt.db.scope() as session:
        school = make_school(session, "S001", "みどり小学校")
        year = make_year(session, current_school_year(utcnow()))
        room = make_class(session, school, year, 2, "1")
        make_pupil(session, rt.cipher, school, "mido0001", school_class=room, year=year, number=1)
        make_teacher(session, rt.cipher, school, "sens2345")
        user, _ = add_staff(session, "sensei@midori.ed.example.jp", "teacher", "S001")
        user.password_hash = generate_password_hash("staff-password-123")
        user.must_change_password = False
        teacher_links.link_teacher(session, "sensei@midori.ed.example.jp", "sens2345", Actor(None, "test", None))
        book = make_licensed_title(session, "concurrent", 2, title="先生のための読書指導")
        session.add(Announcement(title="図書館からのお知らせ", body="12月28日から休館します。\n1月4日から開館します。\n<b>太字ではありません</b>",
                                 audience="all", audience_value="", show_on_site=True, status="approved", approved_at=utcnow()))
        return book.id


def test_the_teacher_borrows_and_opens_the_class_page_after_one_sign_in(page, live_server, linked_teacher):
    page.goto(live_server("/staff/login"))
    page.fill("#email", "sensei@midori.ed.example.jp")
    page.fill("#password", "staff-password-123")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url("**/staff/")
    page.goto(live_server(f"/titles/{linked_teacher}"))
    page.get_by_role("button", name="借りる").tap()
    page.get_by_text("借りています").first.wait_for()
    nav = page.get_by_role("navigation", name="利用者メニュー")
    assert nav.get_by_role("link", name="マイ本棚").count() == 1 and nav.get_by_role("link", name="クラスのページ").count() == 1
    nav.get_by_role("link", name="マイ本棚").tap()
    page.get_by_text("先生のための読書指導").first.wait_for()
    assert_accessible(page)
    screenshot(page, "teacher-both-rights-shelf")
    page.get_by_role("navigation", name="利用者メニュー").get_by_role("link", name="クラスのページ").tap()
    page.get_by_role("link", name="2年1組").tap()
    page.get_by_role("cell", name="mido0001", exact=True).wait_for()
    assert_accessible(page)
    screenshot(page, "teacher-both-rights-class")


def test_announcements_keep_their_line_breaks_escaped(page, live_server, linked_teacher):
    page.goto(live_server("/"))
    body = page.locator(".announcements .announcement-body")
    assert body.evaluate("el => getComputedStyle(el).whiteSpace") == "pre-wrap"
    assert body.locator("b").count() == 0 and "<b>太字ではありません</b>" in body.inner_text()
    line = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.announcement-body')).lineHeight)")
    assert body.bounding_box()["height"] >= 2.5 * line  # three lines, not one
    screenshot(page, "announcement-line-breaks", full_page=False)
