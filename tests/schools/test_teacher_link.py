"""A teacher signs in once and has both rights (issue #13): the teacher's room as staff of their school, and their
own borrowing as a patron of the teacher category — whichever way they sign in (staff sign-in, login id, QR card,
school SSO). A pupil never gets staff rights; a teacher of school A never sees school B; one sign-out ends both."""
from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from elibrary.audit.models import AccessLogEntry
from elibrary.db import utcnow
from elibrary.errors import DomainError
from elibrary.lending.models import Loan
from elibrary.patrons.models import Patron
from elibrary.schools import signin_tokens, sso, teacher_links
from elibrary.schools.directory import Actor, current_school_year
from elibrary.staff.models import StaffUser
from elibrary.staff.services import add_staff
from tests.conftest import csrf_token_for
from tests.lending.factories import make_licensed_title
from tests.schools.signin_factories import make_class, make_pupil, make_school, make_year

STAFF_PASSWORD = "staff-password-123"
ADMIN = Actor(None, "test-admin", None)


def make_teacher(session, cipher, school, login_id: str, *, email: str | None = None, password: str = "pass2345"):
    """A roster teacher: a member of role teacher whose patron is of category teacher."""
    member = make_pupil(session, cipher, school, login_id, email=email, password=password)
    member.role = "teacher"
    session.get(Patron, member.patron_id).category = "teacher"
    session.flush()
    return member


def make_staff_teacher(session, email: str, school_code: str) -> StaffUser:
    """A staff account of role teacher, bound to a school, with a known password."""
    staff, _ = add_staff(session, email, "teacher", school_code)
    staff.password_hash = generate_password_hash(STAFF_PASSWORD)
    staff.must_change_password = False
    session.flush()
    return staff


@pytest.fixture
def town(rt):
    """Schools S001 and S002, a class of each, a linked teacher of S001 with a QR card, a pupil of S001, a title."""
    with rt.db.scope() as session:
        s1, s2 = make_school(session, "S001", "みどり小学校"), make_school(session, "S002", "あおば小学校")
        year = make_year(session, current_school_year(utcnow()))
        c1, c2 = make_class(session, s1, year, 2, "1"), make_class(session, s2, year, 4, "3")
        pupil = make_pupil(session, rt.cipher, s1, "mido0001", school_class=c1, year=year, number=1)
        make_pupil(session, rt.cipher, s2, "aoba0001", school_class=c2, year=year, number=1)
        teacher = make_teacher(session, rt.cipher, s1, "sens2345", email="hana@sakura.ed.example.jp")
        make_staff_teacher(session, "sensei@city.example.jp", "S001")
        teacher_links.link_teacher(session, "sensei@city.example.jp", "sens2345", ADMIN)
        card = signin_tokens.issue_cards(session, rt.cipher, [teacher.patron_id], issued_by="cli")[0]
        title = make_licensed_title(session, "concurrent", 3, title="先生が借りる本")
        return {"class1": c1.id, "class2": c2.id, "teacher": teacher.patron_id, "pupil": pupil.patron_id, "title": title.id, "qr": card.token}


def _csrf(client) -> str:
    """The session's CSRF token (a page is opened first: a sign-in rotates it)."""
    client.get("/")
    with client.session_transaction() as sess:
        return sess["_csrf"]


def staff_sign_in(client):
    token = csrf_token_for(client)
    response = client.post("/staff/login", data={"email": "sensei@city.example.jp", "password": STAFF_PASSWORD, "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"].endswith("/staff/"), response.headers.get("Location")


def login_id_sign_in(client, login_id: str = "sens2345", password: str = "pass2345"):
    response = client.post("/login", data={"card": login_id, "pin": password, "csrf_token": csrf_token_for(client)})
    assert response.status_code == 303, response.get_data(as_text=True)


def qr_sign_in(client, token: str):
    client.get("/school/qr")
    response = client.post("/school/qr", data={"token": token, "csrf_token": _csrf(client)})
    assert response.status_code == 303, response.get_data(as_text=True)


def assert_both_rights(client, rt, town) -> None:
    """Borrow a title, see it on マイ本棚, open the teacher's room and the class shelf, and see both in the menu."""
    borrowed = client.post(f"/titles/{town['title']}/borrow", data={"csrf_token": _csrf(client)})
    assert borrowed.status_code == 303
    with rt.db.scope(write=False) as session:
        assert session.scalar(select(Loan.patron_id).where(Loan.title_id == town["title"])) == town["teacher"]
    assert "先生が借りる本" in client.get("/shelf").get_data(as_text=True)
    room = client.get("/staff/schools/cards/")
    assert room.status_code == 200 and "2年1組" in room.get_data(as_text=True)
    assert client.get(f"/staff/schools/cards/S001/{town['class1']}").status_code == 200
    assert client.get(f"/classroom/{town['class1']}").status_code == 200
    home = client.get("/").get_data(as_text=True)
    assert "マイ本棚" in home and "クラスのページ" in home and "クラスの本棚" in home
    # school B stays closed, whichever identity asks
    assert client.get(f"/staff/schools/cards/S002/{town['class2']}").status_code == 403
    assert client.get(f"/classroom/{town['class2']}").status_code in (403, 404)


def test_staff_sign_in_also_borrows(app, rt, town):
    client = app.test_client()
    staff_sign_in(client)
    assert_both_rights(client, rt, town)


def test_login_id_sign_in_also_opens_the_teachers_room(app, rt, town):
    client = app.test_client()
    login_id_sign_in(client)
    assert_both_rights(client, rt, town)


def test_qr_card_sign_in_also_opens_the_teachers_room(app, rt, town):
    client = app.test_client()
    qr_sign_in(client, town["qr"])
    assert_both_rights(client, rt, town)


def test_one_sign_out_ends_both(app, rt, town):
    client = app.test_client()
    staff_sign_in(client)
    assert client.get("/shelf").status_code == 200
    client.post("/logout", data={"csrf_token": _csrf(client)})
    assert client.get("/shelf").status_code == 302  # to the sign-in page
    assert client.get("/staff/schools/cards/").status_code == 302
    assert client.get("/classroom").status_code == 302


def test_an_unlinked_staff_teacher_does_not_borrow_and_the_unlink_applies_at_once(app, rt, town):
    client = app.test_client()
    staff_sign_in(client)
    assert client.get("/shelf").status_code == 200
    with rt.db.scope() as session:
        assert teacher_links.unlink_teacher(session, "sensei@city.example.jp", ADMIN) is True
    assert client.get("/shelf").status_code == 403  # the same browser: still staff, no longer a borrower
    assert client.get("/staff/schools/cards/").status_code == 200
    assert "マイ本棚" not in client.get("/").get_data(as_text=True)
    # and a school-account sign-in is a teacher's school account again: the room of its own school, no class shelf
    other = app.test_client()
    login_id_sign_in(other)
    assert other.get("/classroom").status_code == 302
    assert other.get("/staff/schools/cards/").status_code == 200


def test_a_pupil_never_gets_staff_rights(app, rt, town):
    client = app.test_client()
    login_id_sign_in(client, "mido0001", "pass2345")
    assert client.get("/shelf").status_code == 200
    assert client.get("/staff/schools/cards/").status_code == 403
    assert client.get("/classroom").status_code == 302
    assert client.get("/staff/").status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert "クラスのページ" not in home and "クラスの本棚" not in home
    with rt.db.scope() as session:  # nor can a pupil be linked, by an admin or by the roster's e-mail
        make_staff_teacher(session, "fake@city.example.jp", "S001")
        with pytest.raises(DomainError):
            teacher_links.link_teacher(session, "fake@city.example.jp", "mido0001", ADMIN)
        pupil = session.get(Patron, town["pupil"])
        pupil.email_hash = rt.cipher.lookup_hash("email:fake@city.example.jp")
        assert teacher_links.sync_roster_links(session, rt.cipher, ADMIN) == (0, 0)


def test_links_are_only_within_one_school(rt, town):
    with rt.db.scope() as session:
        make_staff_teacher(session, "b@city.example.jp", "S002")
        with pytest.raises(DomainError):
            teacher_links.link_teacher(session, "b@city.example.jp", "sens2345", ADMIN)  # S001's teacher
        librarian, _ = add_staff(session, "lib@city.example.jp", "librarian")
        with pytest.raises(DomainError):
            teacher_links.link_teacher(session, "lib@city.example.jp", "sens2345", ADMIN)
        with pytest.raises(DomainError):  # already linked to sensei@
            make_staff_teacher(session, "second@city.example.jp", "S001")
            teacher_links.link_teacher(session, "second@city.example.jp", "sens2345", ADMIN)


def test_the_roster_links_by_email_and_unlinks_a_teacher_who_moved(rt, runner, town):
    from tests.schools.conftest import roster_csv

    with rt.db.scope() as session:
        teacher_links.unlink_teacher(session, "sensei@city.example.jp", ADMIN)
        make_staff_teacher(session, "yama@city.example.jp", "S001")
    year = current_school_year(utcnow())
    header = ("学校コード", "学年", "組", "出席番号", "氏名", "ふりがな", "ログインID", "種別", "メールアドレス")
    rows = [("S001", "", "", "", "山田 先生", "やまだ せんせい", "yama2345", "教員", "Yama@city.example.jp"),
            ("S001", "", "", "", "みどり 先生", "みどり せんせい", "sens2345", "教員", "sensei@city.example.jp")]
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "roster.csv"
        path.write_bytes(roster_csv(rows, header=header))
        result = runner.invoke(args=["schools", "import-roster", str(path), "--school", "S001", "--year", str(year)])
        assert result.exit_code == 0, result.output
        assert "teacher accounts linked 2" in result.output
        with rt.db.scope(write=False) as session:
            linked = dict(session.execute(select(StaffUser.email, StaffUser.patron_id).where(StaffUser.patron_id.is_not(None))).all())
            assert set(linked) == {"yama@city.example.jp", "sensei@city.example.jp"}
            assert linked["sensei@city.example.jp"] == town["teacher"]
            assert session.scalar(select(AccessLogEntry).where(AccessLogEntry.subject == "teacher-link")) is not None
        # the teacher moves to S002: the link to the S001 staff account ends with the next import
        rows[1] = ("S002", "", "", "", "みどり 先生", "みどり せんせい", "sens2345", "教員", "sensei@city.example.jp")
        path.write_bytes(roster_csv(rows, header=header))
        result = runner.invoke(args=["schools", "import-roster", str(path), "--year", str(year)])
        assert result.exit_code == 0, result.output
        with rt.db.scope(write=False) as session:
            assert session.scalar(select(StaffUser.patron_id).where(StaffUser.email == "sensei@city.example.jp")) is None


def test_the_admin_commands_link_and_unlink(rt, runner, town):
    with rt.db.scope() as session:
        teacher_links.unlink_teacher(session, "sensei@city.example.jp", ADMIN)
    result = runner.invoke(args=["schools", "link-teacher", "sensei@city.example.jp", "SENS2345"])
    assert result.exit_code == 0, result.output
    with rt.db.scope(write=False) as session:
        assert session.scalar(select(StaffUser.patron_id).where(StaffUser.email == "sensei@city.example.jp")) == town["teacher"]
    refused = runner.invoke(args=["schools", "link-teacher", "sensei@city.example.jp", "mido0001"])
    assert refused.exit_code != 0 and "teacher" in refused.output
    assert "unlinked" in runner.invoke(args=["schools", "unlink-teacher", "sensei@city.example.jp"]).output


# -- school SSO: a real OpenID Provider on loopback -------------------------------------------------------------

@pytest.fixture
def provider():
    from tests.schools.oidc_provider import start_provider, stop_provider

    running = start_provider(["http://localhost/school/sso/callback"])
    yield running
    stop_provider(running)


def test_school_sso_sign_in_also_opens_the_teachers_room(app, rt, town, provider):
    from tests.schools.oidc_provider import CLIENT_ID, CLIENT_SECRET

    with rt.db.scope() as session:
        sso.save_provider(session, rt.cipher, "S001", enabled=True, issuer=provider.issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                          hosted_domains="sakura.ed.example.jp", tenant_ids="", email_domains="")
    client = app.test_client()
    start = client.get("/school/sso/S001")
    assert start.status_code == 303, start.get_data(as_text=True)
    with httpx.Client(follow_redirects=False) as browser:
        back = provider.sign_in(browser, start.headers["Location"], "hana")  # the teacher's address in the roster
    parts = urlsplit(back)
    assert client.get(f"{parts.path}?{parts.query}").status_code == 303
    assert_both_rights(client, rt, town)


def test_the_text_title_page_tells_staff_the_truth_and_offers_a_teacher_the_borrow_button(app, rt, town):
    from tests.conftest import sign_in_staff

    librarian = app.test_client()
    sign_in_staff(librarian, rt, "librarian")
    page = librarian.get(f"/text/titles/{town['title']}").get_data(as_text=True)
    assert "職員アカウントでは本を借りられません" in page and "この本は貸出できません" not in page
    assert f'action="/titles/{town["title"]}/borrow"' not in page
    teacher = app.test_client()
    staff_sign_in(teacher)
    page = teacher.get(f"/text/titles/{town['title']}").get_data(as_text=True)
    assert f'action="/titles/{town["title"]}/borrow"' in page and "職員アカウントでは" not in page
    assert 'href="/text/shelf"' in page  # the text mode's own マイ本棚


def test_a_disabled_staff_account_drops_the_teachers_room_from_a_school_sign_in(app, rt, town):
    from elibrary.staff.services import disable_staff

    client = app.test_client()
    login_id_sign_in(client)
    assert client.get("/classroom").status_code == 200
    with rt.db.scope() as session:
        disable_staff(session, "sensei@city.example.jp")
    assert client.get("/classroom").status_code == 302  # no staff identity any more
    assert client.get("/shelf").status_code == 200  # still the teacher's own borrowing
