"""A patron sets their own e-mail address; it changes only when the link sent to it is opened by that patron."""
from __future__ import annotations

import re

from werkzeug.security import generate_password_hash

from elibrary.patrons.contact import notification_address
from elibrary.patrons.models import Patron
from tests.conftest import csrf_token_for
from tests.lending.factories import make_patron


def _patron(rt) -> tuple[int, str]:
    with rt.db.scope() as session:
        patron = make_patron(session, rt.cipher)
        card = f"C{patron.id}"
        patron.card_hash, patron.card_enc = rt.cipher.lookup_hash(card), rt.cipher.encrypt(card, "patron.card")
        patron.pin_hash = generate_password_hash("2468")
        return patron.id, card


def _sign_in(client, card):
    client.post("/logout", data={"csrf_token": csrf_token_for(client)})
    assert client.post("/login", data={"card": card, "pin": "2468", "csrf_token": csrf_token_for(client)}).status_code == 303


def _address(rt, patron_id):
    with rt.db.scope() as session:
        return notification_address(session, rt.cipher, session.get(Patron, patron_id))


def test_the_address_changes_only_after_the_link_is_opened(client, rt):
    patron_id, card = _patron(rt)
    _sign_in(client, card)
    assert "未設定" in client.get("/account/email").get_data(as_text=True)
    sent = client.post("/account/email", data={"email": "Hana@Example.JP", "csrf_token": csrf_token_for(client)})
    assert sent.status_code == 303
    assert _address(rt, patron_id) is None  # nothing before confirmation
    rt.deliver_notifications()
    (message,) = [m for m in rt.notifier.sent if m.kind == "confirm-email"]
    assert message.address == "Hana@example.jp"
    path = re.search(r"http://localhost(/account/email/confirm/\S+)", message.body).group(1)
    assert "Hana" not in path and "example" not in path  # the address is not readable in the link
    assert client.get(path).status_code == 303
    assert _address(rt, patron_id) == "Hana@example.jp"
    assert "Hana@example.jp" in client.get("/account/email").get_data(as_text=True)


def test_another_patron_cannot_use_the_link_and_a_bad_one_is_refused(client, rt):
    first, first_card = _patron(rt)
    second, second_card = _patron(rt)
    _sign_in(client, first_card)
    client.post("/account/email", data={"email": "first@example.jp", "csrf_token": csrf_token_for(client)})
    rt.deliver_notifications()
    path = re.search(r"http://localhost(/account/email/confirm/\S+)", rt.notifier.sent[-1].body).group(1)
    _sign_in(client, second_card)
    assert client.get(path).status_code == 404
    assert client.get(path[:-3] + "xyz").status_code == 404
    assert _address(rt, second) is None and _address(rt, first) is None


def test_invalid_addresses_are_explained(client, rt):
    _, card = _patron(rt)
    _sign_in(client, card)
    refused = client.post("/account/email", data={"email": "not an address", "csrf_token": csrf_token_for(client)})
    assert refused.status_code in (303, 400)
    assert client.get("/account/email").status_code == 200
