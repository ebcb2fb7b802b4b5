"""The class shelf: class sets where the licence allows them (seats said before confirming), assigned reading,
teachers kept to their own school, and a pupil's home that opens the reader in one tap."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from elibrary.db import utcnow
from elibrary.errors import Conflict, Forbidden
from elibrary.lending.models import Loan
from elibrary.lending.policy import tokyo_today
from elibrary.lending.supply import add_license
from elibrary.schools import classroom, directory
from elibrary.schools.directory import Actor
from elibrary.schools.models import SchoolClass
from elibrary.schools.services import import_roster
from tests.conftest import csrf_token_for, sign_in_staff
from tests.lending.factories import make_title
from tests.schools.conftest import roster_csv

TODAY = date(2026, 12, 7)


@pytest.fixture
def klass(rt, schools):
    """さくら小学校 2年1組 with three pupils (this 年度); returns (class id, credentials)."""
    rows = [("0101", 2, 1, n, "", "", "", "児童") for n in (1, 2, 3)]
    with rt.db.scope() as session:
        _, result = import_roster(session, rt.cipher, roster_csv(rows), Actor(), year=directory.current_school_year(utcnow()), dry_run=False)
    with rt.db.scope(write=False) as session:
        class_id = session.scalar(select(SchoolClass.id).where(SchoolClass.grade == 2))
    return class_id, result.credentials


def _titles(session):
    shared = make_title(session, title="みんなでよむ本", audience="children")
    add_license(session, shared.id, "concurrent", copies=2)
    single = make_title(session, title="ひとりでよむ本", audience="children")
    add_license(session, single.id, "one-copy", copies=1)
    metered = make_title(session, title="かいすうの本", audience="children")
    add_license(session, metered.id, "metered-loans", copies=5, loans=10)
    return shared, single, metered


def test_seat_plans_say_what_a_class_set_uses(db_session):
    shared, single, metered = _titles(db_session)
    plan = classroom.seat_plan(db_session, shared.id, 3)
    assert plan.allowed and plan.seats == 2 and plan.free_now == 2 and "1人は待ちます" in plan.summary_ja
    refused = classroom.seat_plan(db_session, single.id, 3)
    assert not refused.allowed and "ワンコピー" in refused.summary_ja
    counted = classroom.seat_plan(db_session, metered.id, 3)
    assert counted.allowed and counted.loans_left == 10 and "残り10回" in counted.summary_ja


def test_teachers_manage_their_own_school_only(rt, klass):
    class_id, _ = klass
    with rt.db.scope() as session:
        shared, single, _ = _titles(session)
        from elibrary.staff.services import add_staff

        own, _ = add_staff(session, "t1@school.example.jp", "teacher", "0101")
        other, _ = add_staff(session, "t2@school.example.jp", "teacher", "0102")
        item = classroom.add_to_shelf(session, own, class_id, shared.id, "class_set", TODAY, date(2026, 12, 20))
        with pytest.raises(Forbidden):
            classroom.add_to_shelf(session, other, class_id, shared.id, "assigned", TODAY, date(2026, 12, 20))
        with pytest.raises(Conflict, match="one-copy"):
            classroom.add_to_shelf(session, own, class_id, single.id, "class_set", TODAY, date(2026, 12, 20))
        classroom.add_to_shelf(session, own, class_id, single.id, "assigned", TODAY, date(2026, 12, 20))  # in turn: fine
        assert [c.id for c, _, _ in classroom.classes_for(session, other, now=None)] == []
        assert [i.title_id for i, _ in classroom.shelf_of_class(session, class_id, TODAY)] == [shared.id, single.id]
        assert item.kind == "class_set"


def test_the_teachers_pages_preview_then_confirm(client, rt, klass):
    class_id, _ = klass
    with rt.db.scope() as session:
        shared, _, _ = _titles(session)
    sign_in_staff(client, rt, "teacher", school="0101")
    assert "2年1組" in client.get("/classroom").text
    token = csrf_token_for(client)
    form = {"csrf_token": token, "title": str(shared.id), "kind": "class_set", "starts_on": "2026-12-07", "ends_on": "2026-12-20", "note": "<b>あさの読書</b>"}
    preview = client.post(f"/classroom/{class_id}/preview", data=form)
    assert preview.status_code == 200 and "同時に読めるのは2人まで" in preview.text and "提示）はできません" in preview.text
    assert client.post(f"/classroom/{class_id}/add", data=form).status_code == 303
    page = client.get(f"/classroom/{class_id}").text
    assert "みんなでよむ本" in page and "&lt;b&gt;あさの読書&lt;/b&gt;" in page


def test_a_pupil_opens_the_class_set_in_one_tap_and_a_full_set_says_so(client, rt, klass):
    class_id, credentials = klass
    with rt.db.scope() as session:
        shared, _, _ = _titles(session)
        from elibrary.staff.services import add_staff

        librarian, _ = add_staff(session, "lib@city.example.jp", "librarian", None)
        today = tokyo_today(utcnow())
        classroom.add_to_shelf(session, librarian, class_id, shared.id, "class_set", today, today + timedelta(days=30))
    for number, cred in enumerate(credentials[:3]):
        client.post("/logout", data={"csrf_token": csrf_token_for(client)})
        assert client.post("/login", data={"card": cred.login_id, "pin": cred.password, "csrf_token": csrf_token_for(client)}).status_code == 303
        home = client.get("/school")
        assert home.status_code == 200 and "みんなでよむ本" in home.text
        if number == 0:
            assert "<ruby>" in home.text  # 2nd grade at a school giving furigana up to grade 2
        action = re.search(r'action="(/school/read/\d+)"', home.text).group(1)
        opened = client.post(action, data={"csrf_token": csrf_token_for(client)})
        if number < 2:
            assert opened.status_code == 303 and opened.headers["Location"].endswith(f"/read/{shared.id}")
        else:  # two seats: the third pupil is told, on the home page, in words
            assert opened.headers["Location"].endswith("/school")
            assert "貸出中" in client.get("/school").text or "借りられません" in client.get("/school").text
    with rt.db.scope(write=False) as session:
        assert session.scalar(select(Loan.id).where(Loan.title_id == shared.id).limit(1)) is not None
        assert len(session.scalars(select(Loan).where(Loan.title_id == shared.id)).all()) == 2


def test_only_signed_in_pupils_have_a_school_home(client, rt):
    assert client.get("/school").status_code in (302, 401)



def test_the_classroom_display_flag_is_set_by_the_command_and_shown(runner, rt):
    with rt.db.scope() as session:
        title_id = make_title(session, title="うつしてよい本").id
        plain_id = make_title(session, title="うつせない本").id
    for key, flag in ((title_id, ["--classroom-display"]), (plain_id, [])):
        result = runner.invoke(args=["licenses", "add", str(key), "--model", "concurrent", "--copies", "3", *flag])
        assert result.exit_code == 0, result.output
    with rt.db.scope(write=False) as session:
        assert classroom.seat_plan(session, title_id, 30).classroom_display
        assert not classroom.seat_plan(session, plain_id, 30).classroom_display
