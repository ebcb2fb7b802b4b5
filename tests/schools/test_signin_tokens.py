"""QR sign-in tokens: issued hashed, usable on many devices, revoked at once, and every bad token told apart."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from elibrary.schools import signin_tokens
from elibrary.schools.signin_models import SignInCard
from elibrary.security import sessions
from elibrary.security.crypto import DataCipher
from tests.schools.signin_factories import make_pupil, make_school


@pytest.fixture
def pupil(rt):
    with rt.db.scope() as session:
        school = make_school(session)
        member = make_pupil(session, rt.cipher, school, "kxm4p7qa")
        card = signin_tokens.issue_cards(session, rt.cipher, [member.patron_id], issued_by="cli")[0]
        return member.patron_id, card


def test_the_token_is_long_random_and_stored_only_as_a_hash(db_session, rt):
    school = make_school(db_session)
    member = make_pupil(db_session, rt.cipher, school, "abcd2345")
    card = signin_tokens.issue_cards(db_session, rt.cipher, [member.patron_id], issued_by="cli")[0]
    installation, random_part, check = card.token.split(".")
    assert installation == signin_tokens.installation_id(rt.cipher) and len(random_part) == 43 and len(check) == 16
    row = db_session.scalar(select(SignInCard).where(SignInCard.patron_id == member.patron_id))
    assert random_part not in row.token_hash and card.token not in row.token_hash
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}", card.link_code)
    assert signin_tokens.patron_for_token(db_session, rt.cipher, card.token).id == member.patron_id


def test_every_refusal_says_why(db_session, rt):
    school = make_school(db_session)
    member = make_pupil(db_session, rt.cipher, school, "abcd2345")
    first = signin_tokens.issue_cards(db_session, rt.cipher, [member.patron_id], issued_by="cli")[0]
    second = signin_tokens.issue_cards(db_session, rt.cipher, [member.patron_id], issued_by="cli")[0]
    assert signin_tokens.patron_for_token(db_session, rt.cipher, second.token).id == member.patron_id
    with pytest.raises(signin_tokens.RevokedToken):  # reissued: the old card stops at once
        signin_tokens.patron_for_token(db_session, rt.cipher, first.token)
    installation, random_part, check = second.token.split(".")
    altered = random_part[:-1] + ("A" if random_part[-1] != "A" else "B")
    with pytest.raises(signin_tokens.TamperedToken):
        signin_tokens.patron_for_token(db_session, rt.cipher, f"{installation}.{altered}.{check}")
    with pytest.raises(signin_tokens.TamperedToken):
        signin_tokens.patron_for_token(db_session, rt.cipher, "not a token")
    other_city = DataCipher("another city's data key, at least 32 characters long")
    foreign = signin_tokens.issue_cards(db_session, other_city, [member.patron_id], issued_by="cli")[0]
    with pytest.raises(signin_tokens.ForeignToken):
        signin_tokens.patron_for_token(db_session, rt.cipher, foreign.token)
    assert signin_tokens.ForeignToken().message("ja") != signin_tokens.TamperedToken().message("ja") != signin_tokens.RevokedToken().message("ja")


def test_accounts_that_left_or_passed_their_cut_off_cannot_sign_in(db_session, rt):
    school = make_school(db_session)
    member = make_pupil(db_session, rt.cipher, school, "abcd2345")
    card = signin_tokens.issue_cards(db_session, rt.cipher, [member.patron_id], issued_by="cli")[0]
    member.status, member.signin_until = "graduated", signin_tokens.japan_today()
    assert signin_tokens.patron_for_token(db_session, rt.cipher, card.token).id == member.patron_id  # until the end of the day
    member.signin_until = signin_tokens.japan_today() - timedelta(days=1)
    with pytest.raises(signin_tokens.RevokedToken):
        signin_tokens.patron_for_token(db_session, rt.cipher, card.token)
    member.status, member.signin_until = "left", None
    with pytest.raises(signin_tokens.RevokedToken):
        signin_tokens.patron_for_token(db_session, rt.cipher, card.token)


def _scan(client, token: str):
    client.get("/school/qr")
    with client.session_transaction() as sess:
        csrf = sess["_csrf"]
    return client.post("/school/qr", data={"token": token, "csrf_token": csrf})


def test_the_card_page_never_puts_the_token_in_a_url(client, pupil):
    page = client.get("/school/qr")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="token" value=""' in html and "school-qr.js" in html


def test_two_devices_scan_the_same_card_and_a_revoked_card_stops_at_once(app, rt, pupil):
    patron_id, card = pupil
    tablet, ipad = app.test_client(), app.test_client()
    for device in (tablet, ipad):
        response = _scan(device, card.token)
        assert response.status_code == 303, response.get_data(as_text=True)
        assert device.get("/shelf").status_code == 200
    with rt.db.scope() as session:
        assert signin_tokens.revoke_card(session, patron_id)
    assert tablet.get("/shelf").status_code == 302  # a revoked (lost) card ends its sign-ins too
    refused = _scan(app.test_client(), card.token)
    assert refused.status_code == 401
    assert "このカードは使えなくなっています" in refused.get_data(as_text=True)


def test_a_class_reissue_keeps_the_pupils_signed_in_but_the_old_card_fails(app, rt, pupil):
    patron_id, card = pupil
    tablet = app.test_client()
    assert _scan(tablet, card.token).status_code == 303
    with rt.db.scope() as session:
        signin_tokens.issue_cards(session, rt.cipher, [patron_id], issued_by="s:1")
        assert session.scalar(select(sessions.SessionRecord).where(sessions.SessionRecord.subject == f"p:{patron_id}")) is not None
    assert tablet.get("/shelf").status_code == 200
    assert _scan(app.test_client(), card.token).status_code == 401


def test_tampered_and_foreign_tokens_get_their_own_message_on_the_page(client, rt, pupil):
    _, card = pupil
    installation, random_part, check = card.token.split(".")
    tampered = _scan(client, f"{installation}.{random_part[::-1]}.{check}")
    assert tampered.status_code == 401 and "書きかえられています" in tampered.get_data(as_text=True)
    foreign = _scan(client, "0123456789." + random_part + "." + check)
    assert foreign.status_code == 401 and "ほかの電子図書館" in foreign.get_data(as_text=True)
