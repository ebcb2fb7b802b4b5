"""The teacher's class page on a tablet: login ids, cards and what the class has on loan as counts (axe, screenshot)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from werkzeug.security import generate_password_hash

from elibrary.db import utcnow
from elibrary.lending.models import License, Loan
from elibrary.schools.directory import current_school_year
from elibrary.staff.services import add_staff
from tests.browser.conftest import TABLET, assert_accessible, screenshot
from tests.lending.factories import make_licensed_title
from tests.schools.signin_factories import make_class, make_pupil, make_school, make_year


@pytest.fixture
def browser_context_options() -> dict:
    return {**TABLET, "locale": "ja-JP"}


@pytest.fixture
def teacher(live_server):
    rt = live_server.rt
    with rt.db.scope() as session:
        school = make_school(session, "S001", "みどり小学校")
        year = make_year(session, current_school_year(utcnow()))
        room = make_class(session, school, year, 2, "1")
        ids = [make_pupil(session, rt.cipher, school, f"mido{n:04d}", school_class=room, year=year, number=n).patron_id for n in range(1, 5)]
        book = make_licensed_title(session, "open", None, title="くまのこのぼうけん")
        license_id = session.query(License).filter_by(title_id=book.id).one().id
        for patron_id in ids:
            session.add(Loan(patron_id=patron_id, title_id=book.id, license_id=license_id, due_at=utcnow() + timedelta(days=14)))
        user, _ = add_staff(session, "sensei@midori.ed.example.jp", "teacher", "S001")
        user.password_hash = generate_password_hash("staff-password-123")
        user.must_change_password = False
        return room.id


def test_the_teacher_sees_the_class_and_the_counts(page, live_server, teacher):
    page.goto(live_server("/staff/login"))
    page.fill("#email", "sensei@midori.ed.example.jp")
    page.fill("#password", "staff-password-123")
    page.locator("form button[type=submit]").last.click()
    page.get_by_role("link", name="ログインカード（学校）").tap()
    page.get_by_role("link", name="2年1組").tap()
    page.get_by_role("heading", name="このクラスがいま借りている本").wait_for()
    assert page.get_by_role("cell", name="mido0004", exact=True).count() == 1
    assert page.get_by_role("row", name="くまのこのぼうけん 4", exact=True).count() == 1
    assert_accessible(page)
    screenshot(page, "school-teacher-class")
