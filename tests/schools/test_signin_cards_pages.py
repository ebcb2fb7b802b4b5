"""The staff pages of sign-in cards: teachers of their own school only, every view and reissue in the access log."""
from __future__ import annotations

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from elibrary.audit.models import AccessLogEntry
from elibrary.db import utcnow
from elibrary.schools.directory import current_school_year
from tests.conftest import sign_in_staff
from tests.schools.signin_factories import make_class, make_pupil, make_school, make_year

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:reportlab")


@pytest.fixture
def room(rt):
    with rt.db.scope() as session:
        school = make_school(session, "S001", "みどり小学校")
        make_school(session, "S002", "あおば小学校")
        year = make_year(session, current_school_year(utcnow()))
        room = make_class(session, school, year, 2, "1")
        ids = [make_pupil(session, rt.cipher, school, f"mido{n:04d}", school_class=room, year=year, number=n).patron_id for n in (1, 2, 3)]
        return room.id, ids


def _csrf(client) -> str:
    with client.session_transaction() as sess:
        return sess["_csrf"]


def test_a_teacher_prints_the_class_cards_and_reissues_a_lost_one(client, rt, room):
    class_id, ids = room
    sign_in_staff(client, rt, "teacher", school="S001")
    assert "2年1組" in client.get("/staff/schools/cards/").get_data(as_text=True)
    page = client.get(f"/staff/schools/cards/S001/{class_id}")
    assert page.status_code == 200 and "mido0003" in page.get_data(as_text=True)
    pdf = client.post(f"/staff/schools/cards/S001/{class_id}/print", data={"csrf_token": _csrf(client), "new_passwords": "1"})
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.headers["Cache-Control"] == "no-store"
    import io

    assert "mido0002" in PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    one = client.post(f"/staff/schools/cards/S001/{class_id}/print", data={"csrf_token": _csrf(client), "patron_id": str(ids[1])})
    text = PdfReader(io.BytesIO(one.data)).pages[0].extract_text()
    assert "mido0002" in text and "mido0001" not in text and "かわっていません" in text
    revoked = client.post(f"/staff/schools/cards/S001/{class_id}/revoke", data={"csrf_token": _csrf(client), "patron_id": str(ids[0])})
    assert revoked.status_code == 303
    with rt.db.scope(write=False) as session:
        entries = session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id)).all()
        assert [e.action for e in entries].count("view") >= 1
        assert {(e.patron_id, e.detail) for e in entries if e.action == "change"} >= {(ids[1], "reissue"), (ids[0], "revoke")}
        from elibrary.schools.signin_models import SignInCard

        assert session.scalar(select(SignInCard).where(SignInCard.patron_id == ids[0])) is None


def test_a_teacher_of_another_school_sees_nothing_and_a_librarian_sees_every_school(app, rt, room):
    class_id, _ = room
    other = app.test_client()
    sign_in_staff(other, rt, "teacher", email="t2@city.example.jp", school="S002")
    assert other.get(f"/staff/schools/cards/S001/{class_id}").status_code == 403
    assert other.post(f"/staff/schools/cards/S001/{class_id}/print", data={"csrf_token": _csrf(other)}).status_code == 403
    assert other.get(f"/staff/schools/cards/S002/{class_id}").status_code == 404  # the class is not S002's
    librarian = app.test_client()
    sign_in_staff(librarian, rt, "librarian")
    assert "2年1組" in librarian.get("/staff/schools/cards/?school=S001").get_data(as_text=True)


def test_the_class_page_shows_what_the_class_reads_as_counts_with_small_cells_hidden(client, rt, room):
    from datetime import timedelta

    from elibrary.lending.models import License, Loan
    from tests.lending.factories import make_licensed_title

    class_id, ids = room
    with rt.db.scope() as session:
        popular = make_licensed_title(session, "open", None, title="みんなで読む本")
        rare = make_licensed_title(session, "open", None, title="ひとりで読む本")
        license_of = {lic.title_id: lic.id for lic in session.scalars(select(License))}
        due = utcnow() + timedelta(days=14)
        for patron_id in ids:
            session.add(Loan(patron_id=patron_id, title_id=popular.id, license_id=license_of[popular.id], due_at=due))
        session.add(Loan(patron_id=ids[0], title_id=rare.id, license_id=license_of[rare.id], due_at=due))
    sign_in_staff(client, rt, "teacher", school="S001")
    html = client.get(f"/staff/schools/cards/S001/{class_id}").get_data(as_text=True)
    assert "<td>みんなで読む本</td><td>3</td>" in html
    assert "<td>ひとりで読む本</td><td>&lt;3</td>" in html
    assert "貸出中: 4" in html


def test_a_teacher_signed_in_with_the_school_card_borrows_and_reaches_the_class(app, rt, room):
    from elibrary.patrons.models import Patron
    from elibrary.schools import signin_tokens
    from elibrary.schools.models import Member, School

    class_id, ids = room
    with rt.db.scope() as session:
        school = session.scalar(select(School).where(School.code == "S001"))
        teacher = make_pupil(session, rt.cipher, school, "sensei01")
        teacher.role = "teacher"
        session.get(Patron, teacher.patron_id).category = "teacher"
        other = session.scalar(select(School).where(School.code == "S002"))
        outsider = make_pupil(session, rt.cipher, other, "sensei02")
        outsider.role = "teacher"
        cards_issued = signin_tokens.issue_cards(session, rt.cipher, [teacher.patron_id, outsider.patron_id, ids[0]], issued_by="cli")
    tokens = {card.patron_id: card.token for card in cards_issued}

    def signed_in(patron_id: int):
        client = app.test_client()
        client.get("/school/qr")
        assert client.post("/school/qr", data={"token": tokens[patron_id], "csrf_token": _csrf(client)}).status_code == 303
        return client

    client = signed_in(teacher.patron_id)
    assert "クラスのページ" in client.get("/").get_data(as_text=True)
    assert client.get("/shelf").status_code == 200  # their own borrowing, as a patron of category teacher
    assert "2年1組" in client.get("/staff/schools/cards/").get_data(as_text=True)
    page = client.get(f"/staff/schools/cards/S001/{class_id}")
    assert page.status_code == 200 and "mido0001" in page.get_data(as_text=True)
    with rt.db.scope(write=False) as session:
        entry = session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id.desc())).first()
        assert entry.action == "view" and entry.staff_id is None and "sensei01" in entry.staff_email
        assert session.scalar(select(Member).where(Member.login_id == "sensei01")).role == "teacher"
    assert signed_in(outsider.patron_id).get(f"/staff/schools/cards/S001/{class_id}").status_code == 403
    pupil = signed_in(ids[0])
    assert pupil.get("/staff/schools/cards/").status_code == 403
    assert "クラスのページ" not in pupil.get("/").get_data(as_text=True)
