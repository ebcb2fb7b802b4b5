"""A patron stays signed in when their address changes (Wi-Fi → mobile data); revocation stays server-side."""
from __future__ import annotations

from werkzeug.security import generate_password_hash

from tests.conftest import csrf_token_for
from tests.lending.factories import make_patron

WIFI = {"REMOTE_ADDR": "198.51.100.20", "HTTP_USER_AGENT": "Tablet"}
MOBILE = {"REMOTE_ADDR": "203.0.113.77", "HTTP_USER_AGENT": "Tablet"}


def _patron(rt) -> str:
    with rt.db.scope() as session:
        patron = make_patron(session, rt.cipher)
        card = f"C{patron.id}"
        patron.card_hash, patron.card_enc = rt.cipher.lookup_hash(card), rt.cipher.encrypt(card, "patron.card")
        patron.pin_hash = generate_password_hash("2468")
        return card


def _sign_in(client, card: str) -> None:
    token = csrf_token_for(client)
    response = client.post("/login", data={"card": card, "pin": "2468", "csrf_token": token}, environ_base=WIFI)
    assert response.status_code == 303


def test_a_new_address_does_not_sign_the_patron_out(client, rt):
    _sign_in(client, _patron(rt))
    assert client.get("/shelf", environ_base=WIFI).status_code == 200
    moved = client.get("/shelf", environ_base=MOBILE)
    assert moved.status_code == 200 and "マイ本棚" in moved.get_data(as_text=True)


def test_a_copied_cookie_stops_working_after_sign_out(app, rt):
    card = _patron(rt)
    phone, thief = app.test_client(), app.test_client()
    _sign_in(phone, card)
    cookie = phone.get_cookie("session")
    thief.set_cookie(cookie.key, cookie.value)
    assert thief.get("/shelf", environ_base=MOBILE).status_code == 200  # the same cookie, elsewhere
    phone.post("/logout", data={"csrf_token": csrf_token_for(phone)}, environ_base=WIFI)
    assert thief.get("/shelf", environ_base=MOBILE).status_code == 302  # the record is gone: signed out everywhere
