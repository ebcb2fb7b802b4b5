"""School sign-in with OpenID Connect against a real provider on loopback (npm oidc-provider)."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select, update

from elibrary.patrons.models import Patron
from elibrary.schools import signin_tokens, sso
from elibrary.schools.oidc import OidcClient, OidcFailure
from elibrary.schools.signin_models import OidcLink, OidcProvider
from elibrary.security.throttle import TooManyAttempts
from tests.schools.oidc_provider import CLIENT_ID, CLIENT_SECRET, OTHER_CLIENT_ID, OTHER_CLIENT_SECRET, start_provider, stop_provider
from tests.schools.signin_factories import make_pupil, make_school
from tests.slow_work import SlowWork

CALLBACK = "http://localhost/school/sso/callback"


@pytest.fixture
def provider():
    running = start_provider([CALLBACK])
    yield running
    stop_provider(running)


@pytest.fixture
def app_config(app_config, provider):
    # The installation default: the school row below names only which accounts belong.
    return {**app_config, "ELIBRARY_OIDC_ISSUER": provider.issuer, "ELIBRARY_OIDC_CLIENT_ID": CLIENT_ID, "ELIBRARY_OIDC_CLIENT_SECRET": CLIENT_SECRET}


@pytest.fixture
def school(rt):
    with rt.db.scope() as session:
        row = make_school(session, "S001", "さくら小学校")
        hana = make_pupil(session, rt.cipher, row, "hana2345", email="hana@sakura.ed.example.jp")
        ken = make_pupil(session, rt.cipher, row, "ken23456")
        card = signin_tokens.issue_cards(session, rt.cipher, [ken.patron_id], issued_by="cli")[0]
        sso.save_provider(session, rt.cipher, "S001", enabled=True, issuer="", client_id="", client_secret=None,
                          hosted_domains="sakura.ed.example.jp", tenant_ids="9188040d-6c67-4c5b-b112-36a304b66dad", email_domains="")
        return {"hana": hana.patron_id, "ken": ken.patron_id, "ken_code": card.link_code}


def _to_callback(client, provider, login: str) -> str:
    """The pupil presses the school's button and signs in at the provider; returns where the provider sends them back."""
    start = client.get("/school/sso/S001")
    assert start.status_code == 303, start.get_data(as_text=True)
    with httpx.Client(follow_redirects=False) as browser:
        back = provider.sign_in(browser, start.headers["Location"], login)
    assert back.startswith(CALLBACK), back
    parts = urlsplit(back)
    return f"{parts.path}?{parts.query}"


def _sign_in(client, provider, login: str):
    """The pupil presses the school's button, signs in at the provider, and comes back."""
    path = _to_callback(client, provider, login)
    return client.get(path), path


def _patron_count(rt) -> int:
    with rt.db.scope(write=False) as session:
        return session.scalar(select(func.count()).select_from(Patron))


def test_first_sign_in_links_by_the_roster_email_then_the_subject_alone_decides(app, rt, provider, school):
    client = app.test_client()
    response, _ = _sign_in(client, provider, "hana")
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert client.get("/shelf").status_code == 200
    with rt.db.scope() as session:
        link = session.scalar(select(OidcLink))
        assert link.patron_id == school["hana"] and link.via == "email"
        assert "hana" not in link.subject_hash and len(link.subject_hash) == 64  # only a keyed hash of the subject is kept
        hana = session.get(Patron, school["hana"])
        hana.email_hash = None  # the roster no longer gives the address: the linked subject still decides
    again = app.test_client()
    assert _sign_in(again, provider, "hana")[0].headers["Location"] == "/"


def test_other_sign_ins_never_wait_while_the_provider_answers_one(app, rt, provider, school, monkeypatch):
    """The callback asks the provider for the tokens (a network call: under a second, or a timeout); no lock is
    held meanwhile. On SQLite the callback held the write lock during that call, so a class signing in
    together waited for each pupil's call in turn."""
    slow, answers = SlowWork(), []
    monkeypatch.setattr(rt.school_oidc, "exchange_code", slow.wrap(rt.school_oidc.exchange_code))
    client = app.test_client()
    path = _to_callback(client, provider, "hana")
    seconds, still_asking = slow.write_during(lambda: answers.append(client.get(path)), rt,
                                              update(Patron).where(Patron.id == -1).values(blocked=False))  # another pupil's sign-in
    assert still_asking and seconds < 5, seconds
    assert answers[0].status_code == 303 and answers[0].headers["Location"] == "/"
    assert client.get(path).status_code != 303  # the answer works once


def test_without_a_roster_email_the_card_link_code_links_once(app, rt, provider, school):
    client = app.test_client()
    response, _ = _sign_in(client, provider, "ken")
    assert response.status_code == 303 and response.headers["Location"] == "/school/sso/link"
    page = client.get("/school/sso/link")
    assert "つなぐためのコード" in page.get_data(as_text=True)
    with client.session_transaction() as sess:
        csrf = sess["_csrf"]
    wrong = client.post("/school/sso/link", data={"code": "AAAA-AAAA", "csrf_token": csrf})
    assert wrong.status_code == 401 and "コードが正しくありません" in wrong.get_data(as_text=True)
    typed = school["ken_code"].lower().replace("-", " ")  # as a child types it
    right = client.post("/school/sso/link", data={"code": typed, "csrf_token": csrf})
    assert right.status_code == 303 and client.get("/shelf").status_code == 200
    with rt.db.scope() as session:
        with pytest.raises(sso.WrongLinkCode):  # used: another account cannot take it
            sso.link_with_code(session, rt.cipher, None, subject_hash="another", school_code="S001", code=school["ken_code"], address=None)
    assert _sign_in(app.test_client(), provider, "ken")[0].headers["Location"] == "/"


def test_an_unlisted_domain_is_refused_and_never_becomes_a_patron(app, rt, provider, school):
    before = _patron_count(rt)
    response, _ = _sign_in(app.test_client(), provider, "outsider")
    assert response.status_code == 403
    assert "この学校のアカウントではありません" in response.get_data(as_text=True)
    assert _patron_count(rt) == before
    with rt.db.scope(write=False) as session:
        assert session.scalar(select(func.count()).select_from(OidcLink)) == 0


def test_a_listed_microsoft_tenant_belongs_but_an_unverified_email_never_links(app, rt, provider, school):
    response, _ = _sign_in(app.test_client(), provider, "tenant")
    assert response.status_code == 303 and response.headers["Location"] == "/school/sso/link"


def test_a_replayed_answer_is_refused(app, rt, provider, school):
    client = app.test_client()
    response, callback = _sign_in(client, provider, "hana")
    assert response.status_code == 303
    replay = client.get(callback)
    assert replay.status_code == 401 and "使用済みか期限切れ" in replay.get_data(as_text=True)
    other_browser = app.test_client().get(callback)
    assert other_browser.status_code == 401


def test_a_switched_off_school_and_the_admin_settings(app, rt, client, provider, school):
    from tests.conftest import sign_in_staff

    sign_in_staff(client, rt, "admin")
    assert "さくら小学校" in client.get("/staff/schools/sign-in").get_data(as_text=True)
    with client.session_transaction() as sess:
        csrf = sess["_csrf"]
    saved = client.post("/staff/schools/sign-in/S001", data={"csrf_token": csrf, "issuer": "", "client_id": "", "client_secret": "per-school-secret",
                                                              "hosted_domains": "sakura.ed.example.jp", "tenant_ids": "", "email_domains": ""})
    assert saved.status_code == 303
    with rt.db.scope(write=False) as session:
        row = session.scalar(select(OidcProvider))
        assert not row.enabled and b"per-school-secret" not in row.client_secret_enc
        assert rt.cipher.decrypt(row.client_secret_enc, "school.oidc.secret") == "per-school-secret"
    assert app.test_client().get("/school/sso/S001").status_code == 404


def _client(clock=time.time) -> OidcClient:
    return OidcClient(lambda: httpx.Client(timeout=10), clock=clock)


def test_the_id_token_checks_with_real_tokens(provider):
    token = provider.id_token_for(CLIENT_ID, CLIENT_SECRET, CALLBACK, "hana", nonce="nonce-1")
    claims = _client().validate_id_token(provider.issuer, CLIENT_ID, token, "nonce-1")
    assert claims["sub"] == "hana" and claims["hd"] == "sakura.ed.example.jp" and claims["aud"] == CLIENT_ID

    def reason(call) -> str:
        with pytest.raises(OidcFailure) as caught:
            call()
        return caught.value.reason

    other = provider.id_token_for(OTHER_CLIENT_ID, OTHER_CLIENT_SECRET, CALLBACK, "hana", nonce="nonce-1")
    assert reason(lambda: _client().validate_id_token(provider.issuer, CLIENT_ID, other, "nonce-1")) == "wrong-audience"
    later = _client(clock=lambda: time.time() + 2 * 3600)
    assert reason(lambda: later.validate_id_token(provider.issuer, CLIENT_ID, token, "nonce-1")) == "expired"
    assert reason(lambda: _client().validate_id_token(provider.issuer, CLIENT_ID, token, "another-nonce")) == "bad-nonce"
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-6]}{'AAAAAA' if signature[-6:] != 'AAAAAA' else 'BBBBBB'}"
    assert reason(lambda: _client().validate_id_token(provider.issuer, CLIENT_ID, forged, "nonce-1")) == "bad-signature"
    assert reason(lambda: _client().metadata("http://127.0.0.1:9/")) == "provider-unreachable"


def _typo(rt, throttle, subject: str, address: str) -> None:
    # One attempt, in its own transaction as a request would be (the throttle counts once it ends).
    with pytest.raises(sso.WrongLinkCode):
        with rt.db.scope() as session:
            sso.link_with_code(session, rt.cipher, throttle, subject_hash=subject, school_code="S001", code="ZZZZ-ZZZZ", address=address)


def test_a_class_of_40_with_typos_from_one_school_network_all_link(rt, school):
    from elibrary.security.throttle import Throttle, ThrottlePolicy

    policy = ThrottlePolicy.from_settings({"ELIBRARY_SCHOOL_NETWORKS": "127.0.0.0/8"})
    school_throttle, city_throttle = Throttle(rt.db, policy), Throttle(rt.db, ThrottlePolicy())
    for pupil in range(40):  # one typo each, all from the school's one NAT address
        _typo(rt, school_throttle, f"pupil-{pupil}", "127.0.0.1")
    with rt.db.scope() as session:
        patron = sso.link_with_code(session, rt.cipher, school_throttle, subject_hash="pupil-40", school_code="S001", code=school["ken_code"],
                                    address="127.0.0.1")
        assert patron.id == school["ken"]
    for pupil in range(30):  # the same from an address outside the school networks is stopped after 30
        _typo(rt, city_throttle, f"x-{pupil}", "198.51.100.7")
    with pytest.raises(TooManyAttempts):
        _typo(rt, city_throttle, "x-30", "198.51.100.7")
