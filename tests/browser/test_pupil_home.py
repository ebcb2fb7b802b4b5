"""A pupil on a school tablet: sign in with the login id from the card, the class shelf first with furigana,
and the book open in the reader within three taps — by touch, on a Chromebook and an iPad, accessible."""
from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from elibrary.db import utcnow
from elibrary.lending.policy import tokyo_today
from elibrary.schools import classroom, directory
from elibrary.schools.directory import Actor
from elibrary.schools.services import import_roster
from elibrary.staff.services import add_staff
from tests.browser.conftest import assert_accessible, new_context, screenshot
from tests.readers.factories import make_sample
from tests.schools.conftest import roster_csv

DEVICES = {
    "chromebook": {"viewport": {"width": 1366, "height": 768}, "has_touch": True, "is_mobile": False, "locale": "ja-JP"},
    "ipad-portrait": {"viewport": {"width": 768, "height": 1024}, "has_touch": True, "is_mobile": True, "locale": "ja-JP"},
    "ipad-landscape": {"viewport": {"width": 1024, "height": 768}, "has_touch": True, "is_mobile": True, "locale": "ja-JP"},
}


@pytest.fixture
def pupil(live_server):
    """さくら小学校 1年1組: one pupil, a class set of an open picture book and an assigned title; the credentials."""
    rt = live_server.rt
    with rt.db.scope() as session:
        directory.add_school(session, "0101", "さくら小学校", "elementary")
        _, result = import_roster(session, rt.cipher, roster_csv([("0101", 1, 1, 1, "", "", "", "児童")]), Actor(),
                                  year=directory.current_school_year(utcnow()), dry_run=False)
        librarian, _ = add_staff(session, "lib@city.example.jp", "librarian", None)
        together = make_sample(session, rt.storage, license="open", title="みんなでよむえほん", audience="children")
        later = make_sample(session, rt.storage, license="one-copy", title="しゅくだいの本", audience="children")
        class_id = classroom.classes_for(session, librarian)[0][0].id
        today = tokyo_today(utcnow())
        classroom.add_to_shelf(session, librarian, class_id, together.id, "class_set", today, today + timedelta(days=7))
        classroom.add_to_shelf(session, librarian, class_id, later.id, "assigned", today, today + timedelta(days=14), "こくごの じかんに")
    return result.credentials[0]


@pytest.mark.parametrize("device", list(DEVICES))
def test_pupil_signs_in_and_reads_the_class_set_in_three_taps(browser, live_server, pupil, device):
    context = new_context(browser, live_server, **DEVICES[device])
    page = context.new_page()
    page.goto(live_server("/login"))
    page.fill("#card", pupil.login_id)
    page.fill("#pin", pupil.password)
    with page.expect_navigation():
        page.locator("form:has(#pin) button[type=submit]").tap()
    page.get_by_role("link", name="がっこうの本だな").first.tap()  # tap 1
    page.wait_for_url("**/school")
    expect(page.locator("h1")).to_contain_text("だな")
    assert page.locator("ruby").count() > 3  # first grade: furigana on the interface words
    assert page.locator("section:has(#group-1) .pupil-book-title").all_inner_texts() == ["みんなでよむえほん"]  # reading together first
    assert page.locator("section:has(#group-2) .pupil-book-title").all_inner_texts() == ["しゅくだいの本"]
    button = page.locator("section:has(#group-1) .pupil-read")
    box = button.first.bounding_box()
    assert box["height"] >= 48 and box["width"] >= 48  # a child's finger
    assert_accessible(page)
    screenshot(page, f"pupil-home-{device}")
    button.first.tap()  # tap 2: the reader, already borrowed or open
    page.wait_for_url("**/read/**")
    expect(page.locator("body")).to_be_visible()
    context.close()
