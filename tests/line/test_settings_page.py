"""マイページ's notice settings: choose LINE, e-mail or both; title opt-in only when the library allows it; unlink."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from elibrary.line import linking
from elibrary.line.models import LineLink, NoticePreference
from elibrary.patrons.services import add_local_patron
from tests.conftest import csrf_token_for


@pytest.fixture
def app_config(app_config):
    return {**app_config, "ELIBRARY_LINE_NOTICE_TITLES": True, "ELIBRARY_ILS": "local"}


def _signed_in(client, rt, linked=True):
    with rt.db.scope() as session:
        patron = add_local_patron(session, rt.cipher, "66601234", "pass-1234")
        if linked:
            linking.link(session, rt.cipher, patron, "U" + "2" * 32)
        patron_id = patron.id
    response = client.post("/login", data={"card": "66601234", "pin": "pass-1234", "csrf_token": csrf_token_for(client)})
    assert response.status_code == 303
    return patron_id


def test_choose_channel_and_titles(client, rt):
    patron_id = _signed_in(client, rt)
    page = client.get("/line/settings").get_data(as_text=True)
    assert 'id="channel-both" name="channel" value="both" checked' in page and "LINEと連携しています" in page
    saved = client.post("/line/settings", data={"channel": "line", "include_titles": "1", "csrf_token": csrf_token_for(client)})
    assert saved.status_code == 303
    with rt.db.scope(write=False) as session:
        pref = session.get(NoticePreference, patron_id)
        assert (pref.channel, pref.include_titles) == ("line", True)
    bad = client.post("/line/settings", data={"channel": "fax", "csrf_token": csrf_token_for(client)})
    assert bad.status_code in (303, 400)
    with rt.db.scope(write=False) as session:
        assert session.get(NoticePreference, patron_id).channel == "line"


def test_titles_cannot_be_chosen_when_the_library_does_not_allow_it(client, rt, app):
    app.extensions["elibrary"].settings["ELIBRARY_LINE_NOTICE_TITLES"] = False
    patron_id = _signed_in(client, rt)
    assert "include_titles" not in client.get("/line/settings").get_data(as_text=True)
    client.post("/line/settings", data={"channel": "both", "include_titles": "1", "csrf_token": csrf_token_for(client)})
    with rt.db.scope(write=False) as session:
        assert session.get(NoticePreference, patron_id).include_titles is False


def test_unlink_from_my_page(client, rt):
    _signed_in(client, rt)
    response = client.post("/line/unlink", data={"csrf_token": csrf_token_for(client)})
    assert response.status_code == 303 and response.headers["Location"].endswith("/line/settings")
    with rt.db.scope(write=False) as session:
        assert session.scalar(select(func.count()).select_from(LineLink)) == 0
    assert "LINEと連携していません" in client.get("/line/settings").get_data(as_text=True)


def test_settings_need_a_signed_in_patron(client):
    assert client.get("/line/settings").status_code == 302
