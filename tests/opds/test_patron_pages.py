"""Signed-in feed pages (reading apps send credentials with every request, issue 18).

A patron whose loans and holds are not on a page gets the page everyone gets (kept once per process);
a page showing their own loan or hold is kept for them only, while their loans and holds are unchanged.
Either is served only while none of its titles was lent since it was rendered. Credentials are still
checked on every request, and remembered credentials are refused at once after a PIN change, a sign-in
lock made by any worker, the end of a school account or the erasure of the patron.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from elibrary.opds.circulation import PatronStamp, PatronState
from elibrary.patrons.accounts import TOKYO
from elibrary.patrons.models import Patron
from elibrary.patrons.services import change_local_pin, find_by_card
from elibrary.schools.accounts import create_member
from tests.opds.conftest import OTHER_PATRON, PATRON, basic

BORROW = "http://opds-spec.org/acquisition/borrow"
SEARCH = "/opds/v2/search?query=こころ"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "ELIBRARY_OPDS_FEED_CACHE_SECONDS": 60}


def _publication(feed: dict, title: str) -> dict:
    (publication,) = [p for p in feed["publications"] if p["metadata"]["title"] == title]
    return publication


def _state(feed: dict, title: str) -> str:
    links = _publication(feed, title)["links"]
    return " ".join(sorted(link["rel"] if isinstance(link["rel"], str) else " ".join(link["rel"]) for link in links))


def _availability(feed: dict, title: str) -> str:
    (borrow,) = [link for link in _publication(feed, title)["links"] if link["rel"] == BORROW]
    return borrow["properties"]["availability"]["state"]


def test_a_patrons_page_follows_their_own_borrowing_at_once(client, catalog, rt):
    before = client.get(SEARCH, headers=basic())
    assert before.status_code == 200 and before.headers["Cache-Control"] == "private, no-store"
    assert "borrow" in _state(before.json, "こころ")
    assert (len(rt.opds.pages._data), len(rt.opds.patron_pages._data)) == (1, 0)  # no loans yet: the shared page
    assert client.get(SEARCH, headers=basic()).get_data() == before.get_data()  # the kept page
    borrowed = client.post(f"/opds/v2/titles/{catalog.one_copy}/borrow", headers=basic())
    assert borrowed.status_code == 201
    after = client.get(SEARCH, headers=basic()).json
    assert "revoke" in _state(after, "こころ")  # the loan shows at once: the page was rendered for them
    assert len(rt.opds.patron_pages._data) == 1


def test_a_patrons_page_is_never_served_to_another(client, catalog):
    assert client.post(f"/opds/v2/titles/{catalog.one_copy}/borrow", headers=basic()).status_code == 201
    mine = client.get(SEARCH, headers=basic()).json
    theirs = client.get(SEARCH, headers=basic(OTHER_PATRON)).json
    assert "revoke" in _state(mine, "こころ") and "revoke" not in _state(theirs, "こころ")
    anonymous = client.get(SEARCH).json
    assert "revoke" not in _state(anonymous, "こころ")
    assert "revoke" in _state(client.get(SEARCH, headers=basic()).json, "こころ")  # and theirs is never served to me


def test_patrons_without_their_titles_on_a_page_share_one_render(client, catalog, rt):
    anonymous = client.get(SEARCH)
    assert client.get(SEARCH, headers=basic()).get_data() == anonymous.get_data()
    assert client.get(SEARCH, headers=basic(OTHER_PATRON)).get_data() == anonymous.get_data()
    assert (len(rt.opds.pages._data), len(rt.opds.patron_pages._data)) == (1, 0)


def test_a_borrow_by_another_patron_shows_at_once_on_a_kept_page(client, catalog):
    assert _availability(client.get(SEARCH, headers=basic()).json, "こころ") == "available"
    assert client.post(f"/opds/v2/titles/{catalog.one_copy}/borrow", headers=basic(OTHER_PATRON)).status_code == 201
    assert _availability(client.get(SEARCH, headers=basic()).json, "こころ") == "unavailable"


def test_a_wrong_pin_is_401_even_when_a_page_is_kept(client, catalog):
    assert client.get("/opds/v2/new", headers=basic()).status_code == 200
    assert client.get("/opds/v2/new", headers=basic((PATRON[0], "wrong-pin"))).status_code == 401


def test_remembered_credentials_end_at_once_with_a_pin_change(client, catalog, rt):
    assert client.get("/opds/v2/new", headers=basic()).status_code == 200  # verified and remembered
    with rt.db.scope() as session:
        change_local_pin(session, find_by_card(session, rt.cipher, PATRON[0]), "new-pin-1001")
    assert client.get("/opds/v2/new", headers=basic()).status_code == 401
    assert client.get("/opds/v2/new", headers=basic((PATRON[0], "new-pin-1001"))).status_code == 200


def test_remembered_credentials_end_at_once_with_a_lock_made_by_another_worker(client, catalog, rt):
    assert client.get("/opds/v2/new", headers=basic()).status_code == 200  # verified and remembered
    # Wrong PINs for this card from this address counted through another process: the counters in the
    # database are all this process shares with it.
    keys = rt.throttle.keys(rt.cipher, "card", PATRON[0], "127.0.0.1")
    for _ in range(rt.throttle.policy.pair_limit):
        rt.throttle.record_failure(keys)
    locked = client.get("/opds/v2/new", headers=basic())
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0


def test_a_borrow_by_another_patron_shows_at_once_on_a_patrons_own_page(client, catalog):
    assert client.post(f"/opds/v2/titles/{catalog.concurrent}/borrow", headers=basic()).status_code == 201
    assert _availability(client.get("/opds/v2/new", headers=basic()).json, "こころ") == "available"  # kept for this patron
    assert client.post(f"/opds/v2/titles/{catalog.one_copy}/borrow", headers=basic(OTHER_PATRON)).status_code == 201
    assert client.get("/opds/v2/new").status_code == 200  # a newer shared page: the patron's own page is the older one
    assert _availability(client.get("/opds/v2/new", headers=basic()).json, "こころ") == "unavailable"


def test_a_kept_page_is_rendered_again_when_the_events_read_do_not_cover_it():
    complete = PatronState(PatronStamp(()), since=4, lent=((5, 1), (6, 2)), complete=True, newest=6)
    assert not complete.lent_since(4, frozenset({3})) and complete.lent_since(5, frozenset({2}))
    assert complete.lent_since(3, frozenset({3}))  # rendered before the events read: title 3 may have been lent at 4
    truncated = PatronState(PatronStamp(()), since=4, lent=((5, 1), (6, 2)), complete=False, newest=9)
    assert truncated.lent_since(4, frozenset({3}))  # events beyond those read may touch title 3
    assert not truncated.lent_since(6, frozenset())


def test_remembered_credentials_end_at_once_with_the_school_account(client, catalog, rt):
    with rt.db.scope() as session:
        member = create_member(session, rt.cipher, role="pupil", login_id="pupil2001", password="pupil-pass-2001")
    pupil = ("pupil2001", "pupil-pass-2001")
    assert client.get("/opds/v2/new", headers=basic(pupil)).status_code == 200  # verified and remembered
    with rt.db.scope() as session:
        session.get(Patron, member.patron_id).expires_on = (datetime.now(TOKYO) - timedelta(days=1)).date()  # left the school yesterday
    assert client.get("/opds/v2/new", headers=basic(pupil)).status_code == 401


def test_remembered_credentials_end_at_once_with_the_patrons_erasure(client, catalog, rt):
    assert client.get("/opds/v2/new", headers=basic(OTHER_PATRON)).status_code == 200  # verified and remembered
    with rt.db.scope() as session:
        session.delete(find_by_card(session, rt.cipher, OTHER_PATRON[0]))
    assert client.get("/opds/v2/new", headers=basic(OTHER_PATRON)).status_code == 401
