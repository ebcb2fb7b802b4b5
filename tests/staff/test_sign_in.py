"""Staff sign-in: password, TOTP enrolment and codes for admin/librarian, forced password change."""
import re
import time

import pyotp
import pytest

from elibrary.staff import services
from tests.conftest import csrf_token_for


@pytest.fixture
def app_config(app_config):
    app_config["ELIBRARY_SIGNIN_PAIR_LIMIT"] = 3
    app_config["ELIBRARY_SIGNIN_CARD_LIMIT"] = 10
    return app_config


def make_staff(rt, email, role, school=None):
    with rt.db.scope() as session:
        _, password = services.add_staff(session, email, role, school)
    return password


def post(client, url, **data):
    data["csrf_token"] = csrf_token_for(client)
    return client.post(url, data=data)


def enrol(client, email, password):
    """First sign-in of a librarian up to the password change; returns the TOTP secret."""
    first = post(client, "/staff/login", email=email, password=password)
    assert first.status_code == 303 and first.headers["Location"].endswith("/staff/login/enrol")
    page = client.get("/staff/login/enrol").get_data(as_text=True)
    secret = re.search(r'class="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert "otpauth://totp/" in page and 'src="data:image/svg+xml' in page
    return secret


def test_librarian_first_sign_in_enrols_totp_and_changes_password(client, rt):
    password = make_staff(rt, "shisho@city.example.jp", "librarian")
    secret = enrol(client, "Shisho@City.Example.jp", password)
    assert client.get("/staff/").status_code == 302  # not signed in yet
    wrong = post(client, "/staff/login/enrol", code="000000")
    assert wrong.status_code == 401 and "確認コードが正しくありません" in wrong.get_data(as_text=True)
    ok = post(client, "/staff/login/enrol", code=pyotp.TOTP(secret).now())
    assert ok.status_code == 303 and ok.headers["Location"].endswith("/staff/login/password")
    differ = post(client, "/staff/login/password", password="new-password-123", password2="other-password-123")
    assert differ.status_code == 400 and "一致しません" in differ.get_data(as_text=True)
    short = post(client, "/staff/login/password", password="short", password2="short")
    assert short.status_code == 400
    done = post(client, "/staff/login/password", password="new-password-123", password2="new-password-123")
    assert done.status_code == 303 and done.headers["Location"].endswith("/staff/")
    home = client.get("/staff/")
    assert home.status_code == 200 and "shisho@city.example.jp" in home.get_data(as_text=True)

    # Signing out and in again: password, then a code (the enrolment code cannot be replayed).
    assert post(client, "/staff/logout").status_code == 303
    assert client.get("/staff/").status_code == 302
    again = post(client, "/staff/login", email="shisho@city.example.jp", password="new-password-123")
    assert again.headers["Location"].endswith("/staff/login/code")
    replay = post(client, "/staff/login/code", code=pyotp.TOTP(secret).now())
    assert replay.status_code == 401
    fresh = post(client, "/staff/login/code", code=pyotp.TOTP(secret).at(time.time() + 30))
    assert fresh.status_code == 303 and fresh.headers["Location"].endswith("/staff/")
    assert client.get("/staff/").status_code == 200


def test_teacher_needs_no_totp_but_changes_the_one_time_password(client, rt):
    password = make_staff(rt, "sensei@school.example.jp", "teacher", "S001")
    first = post(client, "/staff/login", email="sensei@school.example.jp", password=password)
    assert first.headers["Location"].endswith("/staff/login/password")
    assert client.get("/staff/login/enrol").status_code == 303  # no enrolment for teachers
    done = post(client, "/staff/login/password", password="teacher-pass-42", password2="teacher-pass-42")
    assert done.headers["Location"].endswith("/staff/")
    assert client.get("/staff/").status_code == 200


def test_code_step_cannot_be_skipped(client, rt):
    password = make_staff(rt, "admin@city.example.jp", "admin")
    post(client, "/staff/login", email="admin@city.example.jp", password=password)
    assert client.get("/staff/login/password").status_code == 303  # TOTP first
    assert client.get("/staff/").status_code == 302


def test_wrong_password_and_unknown_email_read_the_same(client, rt):
    make_staff(rt, "shisho@city.example.jp", "librarian")
    wrong = post(client, "/staff/login", email="shisho@city.example.jp", password="nope-nope-nope")
    unknown = post(client, "/staff/login", email="nobody@city.example.jp", password="nope-nope-nope")
    assert wrong.status_code == unknown.status_code == 401
    message = "メールアドレスまたはパスワードが正しくありません"
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)


def test_repeated_failures_lock_even_the_right_password(client, rt):
    password = make_staff(rt, "t@school.example.jp", "teacher", "S001")
    for _ in range(3):
        assert post(client, "/staff/login", email="t@school.example.jp", password="wrong-wrong").status_code == 401
    locked = post(client, "/staff/login", email="t@school.example.jp", password=password)
    assert locked.status_code == 429 and "しばらく" in locked.get_data(as_text=True)
    assert 14 * 60 <= int(locked.headers["Retry-After"]) <= 15 * 60


def test_staff_pages_send_anonymous_users_to_staff_sign_in(client):
    response = client.get("/staff/")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]


def test_reset_gives_a_new_one_time_password_and_new_enrolment(client, rt, runner):
    make_staff(rt, "shisho@city.example.jp", "librarian")
    result = runner.invoke(args=["staff", "reset", "Shisho@city.example.jp"])
    assert result.exit_code == 0
    password = re.search(r"one-time password: (\S+)", result.output).group(1)
    enrol(client, "shisho@city.example.jp", password)  # asks for a new authenticator
    missing = runner.invoke(args=["staff", "reset", "nobody@city.example.jp"])
    assert missing.exit_code == 1 and "No staff account" in missing.output
