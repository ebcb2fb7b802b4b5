"""Purchase requests: a patron asks by ISBN or in words; librarians see counts per title, never who asked."""
from __future__ import annotations

import pytest
from werkzeug.security import generate_password_hash

from elibrary.errors import Conflict, InvalidInput
from elibrary.selection import requests
from tests.conftest import csrf_token_for, sign_in_staff
from tests.lending.factories import make_patron
from tests.selection.factories import make_offer, make_staff


def test_requests_group_by_title_and_match_the_pool(db_session):
    staff = make_staff(db_session)
    offer = make_offer(db_session, title="森のうた", isbn="9784990000042")
    first, second, third = (make_patron(db_session) for _ in range(3))
    requests.make_request(db_session, first, "978-4-9900000-4-2")
    requests.make_request(db_session, second, "9784990000042")
    requests.make_request(db_session, third, "ｺﾄﾘ の 本（小鳥 文庫）")
    with pytest.raises(Conflict):
        requests.make_request(db_session, first, "9784990000042")  # asking twice does not count twice
    with pytest.raises(InvalidInput):
        requests.make_request(db_session, first, "   ")
    groups = requests.grouped_requests(db_session, staff)
    assert [(g.count, g.pool_title.id if g.pool_title else None) for g in groups] == [(2, offer.pool_title_id), (1, None)]
    assert groups[1].example == "ｺﾄﾘ の 本（小鳥 文庫）"


def test_the_patron_page_and_the_staff_page_which_names_nobody(client, rt):
    with rt.db.scope() as session:
        patron = make_patron(session, rt.cipher)
        card = f"R{patron.id:09d}"  # long enough that no random CSRF token on the page can contain it
        patron.card_hash, patron.card_enc = rt.cipher.lookup_hash(card), rt.cipher.encrypt(card, "patron.card")
        patron.pin_hash = generate_password_hash("2468")
    token = csrf_token_for(client)
    assert client.post("/login", data={"card": card, "pin": "2468", "csrf_token": token}).status_code == 303
    token = csrf_token_for(client)
    assert client.post("/requests", data={"text": "<b>はらぺこのくま</b>", "csrf_token": token}).status_code == 303
    page = client.get("/requests").text
    assert "&lt;b&gt;はらぺこのくま&lt;/b&gt;" in page and 'href="/requests"' in page
    client.post("/logout", data={"csrf_token": token})
    sign_in_staff(client, rt, "librarian")
    staff_page = client.get("/staff/selection/requests").text
    assert "はらぺこのくま" in staff_page and card not in staff_page
    assert "リクエストした人" not in staff_page.split("</h1>", 1)[1].split("<table", 1)[1]  # no column to show them
    refused = client.post("/staff/selection/requests/requesters", data={"key": "はらぺこのくま", "csrf_token": csrf_token_for(client)})
    assert refused.status_code == 403 and card not in refused.text

