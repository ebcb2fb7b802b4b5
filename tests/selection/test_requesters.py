"""A library whose policy shows selectors who made a purchase request: by POST, never cached, each look logged."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from elibrary.audit.models import AccessLogEntry
from elibrary.errors import Forbidden
from elibrary.selection import requests
from tests.conftest import csrf_token_for, sign_in_staff
from tests.lending.factories import make_patron
from tests.selection.factories import make_staff


@pytest.fixture
def app_config(app_config):
    return {**app_config, "ELIBRARY_SELECTION_SHOW_REQUESTERS": True}


def _patron_with_card(session, cipher, card):
    patron = make_patron(session, cipher)
    patron.card_hash, patron.card_enc = cipher.lookup_hash(card), cipher.encrypt(card, "patron.card")
    patron.pin_hash = generate_password_hash("2468")
    return patron


def test_selectors_see_who_asked_and_each_patron_shown_is_logged(client, rt):
    with rt.db.scope() as session:
        for card in ("R1001", "R1002"):
            requests.make_request(session, _patron_with_card(session, rt.cipher, card), "はらぺこのくま")
    user = sign_in_staff(client, rt, "librarian")
    page = client.get("/staff/selection/requests").text
    assert "R1001" not in page and "表示（記録されます）" in page
    assert client.get("/staff/selection/requests/requesters").status_code == 405  # never by GET (a URL in a log or history)
    response = client.post("/staff/selection/requests/requesters", data={"key": "はらぺこのくま", "csrf_token": csrf_token_for(client)})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "R1001" in response.text and "R1002" in response.text
    with rt.db.scope(write=False) as session:
        entries = session.scalars(select(AccessLogEntry).where(AccessLogEntry.subject == "purchase-request")).all()
        assert len(entries) == 2 and {e.staff_email for e in entries} == {user.email} and all(e.action == "view" for e in entries)


def test_the_patron_is_told_staff_may_see_who_asked(client, rt):
    with rt.db.scope() as session:
        _patron_with_card(session, rt.cipher, "R2001")
    assert client.post("/login", data={"card": "R2001", "pin": "2468", "csrf_token": csrf_token_for(client)}).status_code == 303
    assert "誰がリクエストしたかを見ることがあります" in client.get("/requests").text


def test_teachers_cannot_see_requesters_even_where_shown(db_session, rt):
    teacher = make_staff(db_session, "teacher")
    with pytest.raises(Forbidden):
        requests.requesters(db_session, teacher, "x", rt.cipher, shown_by_policy=True)
