"""Local patrons: creation from the CLI and sign-in with card number + PIN."""
from sqlalchemy import select

from elibrary.patrons.models import Patron
from tests.conftest import csrf_token_for


def test_cli_adds_a_patron_with_encrypted_card(runner, rt):
    result = runner.invoke(args=["patrons", "add", "１２３４ 5678", "--pin", "2468", "--name", "山田花子"])
    assert result.exit_code == 0, result.output
    with rt.db.scope() as session:
        patron = session.scalars(select(Patron)).one()
        assert b"12345678" not in patron.card_enc and "山田".encode() not in patron.name_enc
        assert rt.cipher.decrypt(patron.card_enc, "patron.card") == "12345678"


def test_cli_duplicate_card_is_a_one_line_error(runner):
    runner.invoke(args=["patrons", "add", "100", "--pin", "2468"])
    result = runner.invoke(args=["patrons", "add", "100", "--pin", "2468"])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "already registered" in result.output


def test_sign_in_with_full_width_card_number(runner, client):
    runner.invoke(args=["patrons", "add", "20240001", "--pin", "2468"])
    token = csrf_token_for(client)
    response = client.post("/login", data={"card": "２０２４ ０００１", "pin": "2468", "csrf_token": token})
    assert response.status_code == 303


def test_wrong_pin_and_unknown_card_give_the_same_message(runner, client):
    runner.invoke(args=["patrons", "add", "20240001", "--pin", "2468"])
    token = csrf_token_for(client)
    wrong_pin = client.post("/login", data={"card": "20240001", "pin": "0000", "csrf_token": token})
    unknown = client.post("/login", data={"card": "99999999", "pin": "2468", "csrf_token": token})
    assert wrong_pin.status_code == unknown.status_code == 401
    message = "利用者番号またはパスワードが正しくありません"
    assert message in wrong_pin.get_data(as_text=True) and message in unknown.get_data(as_text=True)


def test_staff_add_prints_a_one_time_password(runner):
    result = runner.invoke(args=["staff", "add", "Librarian@City.Example.jp", "--role", "librarian"])
    assert result.exit_code == 0
    assert "one-time password:" in result.output
    bad = runner.invoke(args=["staff", "add", "t@school.example.jp", "--role", "teacher"])
    assert bad.exit_code == 1 and "school code" in bad.output
