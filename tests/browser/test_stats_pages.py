"""The statistics page in Chromium: a librarian's 年度 report by age band with a chart, and a teacher's school view."""
from __future__ import annotations

from sqlalchemy import insert

from elibrary.lending.models import LendingEvent
from tests.browser.conftest import assert_accessible, new_context, screenshot, sign_in_staff
from tests.stats.test_reports import _event


def _fill(rt) -> None:
    from datetime import date

    rows = [_event(date(2026, 4 + i % 9, 3), key=f"a{i}", age=5 + i * 3, ndc=str(100 + i * 70)[:3]) for i in range(25)]
    rows += [_event(date(2026, 5, 8), key=f"p{i}", age=8, school="S1", grade="3", category="student") for i in range(4)]
    rows += [_event(date(2025, 4 + i % 9, 3), key=f"b{i}", age=30) for i in range(18)]
    with rt.db.scope() as session:
        session.execute(insert(LendingEvent.__table__), rows)


def test_a_librarian_reads_the_year_by_age_band_and_a_teacher_sees_their_school(page, browser, live_server):
    _fill(live_server.rt)
    page.goto(live_server("/"))
    sign_in_staff(page, live_server, "librarian")
    page.goto(live_server("/staff/stats/?period=year&year=2026&measure=loans&by=age"))
    assert page.locator("#stats-table tfoot td.number").nth(12).inner_text() == "29"
    assert page.locator("svg[role=img]").count() == 1
    screenshot(page, "stats-librarian")
    assert_accessible(page)
    page.goto(live_server("/staff/stats/settings"))
    assert_accessible(page)

    teacher_context = new_context(browser, live_server)
    teacher = teacher_context.new_page()
    teacher.goto(live_server("/"))
    sign_in_staff(teacher, live_server, "teacher")
    teacher.goto(live_server("/staff/stats/?period=month&month=2026-05"))
    assert "S1" in teacher.locator("h1").inner_text()
    assert teacher.locator("#stats-table tfoot td.number").first.inner_text() == "4"
    screenshot(teacher, "stats-teacher")
    assert_accessible(teacher)
    teacher_context.close()
