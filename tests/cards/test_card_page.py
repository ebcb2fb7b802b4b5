"""マイページ's card page: large digits, the barcode, provisional cards, and only for the signed-in patron."""
from __future__ import annotations

import pytest

from elibrary.patrons.services import add_local_patron
from tests.conftest import csrf_token_for


@pytest.fixture
def app_config(app_config):
    return {**app_config, "ELIBRARY_CARD_CHECK_DIGIT": "mod10w21", "ELIBRARY_CARD_START_STOP": "AB"}


def _sign_in(client, rt, card, category="citizen"):
    with rt.db.scope() as session:
        add_local_patron(session, rt.cipher, card, "pass-1234", category=category)
    response = client.post("/login", data={"card": card, "pin": "pass-1234", "csrf_token": csrf_token_for(client)})
    assert response.status_code == 303


def test_card_page_shows_number_and_barcode(client, rt):
    _sign_in(client, rt, "12345678")
    page = client.get("/card")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'class="card-number"' in html and ">12345678<" in html
    assert "<svg" in html and "画面を明るく" in html and "仮カード" not in html
    image = client.get("/card.svg")
    assert image.mimetype == "image/svg+xml" and image.headers["Cache-Control"] == "private, no-store"
    from tests.cards.test_nw7 import _decode

    assert _decode(image.get_data(as_text=True))[0] == "A123456782B"


def test_provisional_patron_sees_a_provisional_card(client, rt):
    _sign_in(client, rt, "87654321", category="provisional")
    assert "仮カード" in client.get("/card").get_data(as_text=True)


def test_card_needs_a_signed_in_patron(client):
    response = client.get("/card")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/card.svg").status_code == 302
