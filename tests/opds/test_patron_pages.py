"""Signed-in feed pages kept per patron (reading apps send credentials with every request, issue 18).

A patron's page is reused only for that patron and only while their loans and holds are unchanged;
credentials are still checked on every request.
"""
from __future__ import annotations

import pytest

from tests.opds.conftest import OTHER_PATRON, PATRON, basic


@pytest.fixture
def app_config(app_config):
    return {**app_config, "ELIBRARY_OPDS_FEED_CACHE_SECONDS": 60}


def _state(feed: dict, title: str) -> str:
    (publication,) = [p for p in feed["publications"] if p["metadata"]["title"] == title]
    return " ".join(sorted(link["rel"] if isinstance(link["rel"], str) else " ".join(link["rel"]) for link in publication["links"]))


def test_a_patrons_page_follows_their_own_borrowing_at_once(client, catalog, rt):
    before = client.get("/opds/v2/search?query=こころ", headers=basic())
    assert before.status_code == 200 and before.headers["Cache-Control"] == "private, no-store"
    assert "borrow" in _state(before.json, "こころ")
    assert len(rt.opds.patron_pages._data) == 1
    assert client.get("/opds/v2/search?query=こころ", headers=basic()).get_data() == before.get_data()  # the kept page
    borrowed = client.post(f"/opds/v2/titles/{catalog.one_copy}/borrow", headers=basic())
    assert borrowed.status_code == 201
    after = client.get("/opds/v2/search?query=こころ", headers=basic()).json
    assert "revoke" in _state(after, "こころ")  # the loan shows at once: the page was rendered again


def test_a_patrons_page_is_never_served_to_another(client, catalog):
    assert client.post(f"/opds/v2/titles/{catalog.one_copy}/borrow", headers=basic()).status_code == 201
    mine = client.get("/opds/v2/search?query=こころ", headers=basic()).json
    theirs = client.get("/opds/v2/search?query=こころ", headers=basic(OTHER_PATRON)).json
    assert "revoke" in _state(mine, "こころ") and "revoke" not in _state(theirs, "こころ")
    anonymous = client.get("/opds/v2/search?query=こころ").json
    assert "revoke" not in _state(anonymous, "こころ")


def test_a_wrong_pin_is_401_even_when_a_page_is_kept(client, catalog):
    assert client.get("/opds/v2/new", headers=basic()).status_code == 200
    assert client.get("/opds/v2/new", headers=basic((PATRON[0], "wrong-pin"))).status_code == 401
