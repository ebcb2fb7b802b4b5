"""Issue #11, the web items: each check fails on the code before the fix. Runs on SQLite and PostgreSQL.

5 SameSite · 6 CSRF with an Authorization header · 7 revocable sessions · 8 trusted proxies ·
11 security headers · 12 the public URL and unknown hosts · 13 database outage, CLI one line, reading
positions validated.
"""
from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from elibrary import create_app
from elibrary.lending.models import Loan
from elibrary.security.sessions import SessionRecord
from elibrary.staff.models import StaffUser
from elibrary.web.headers import SITE_CSP
from tests.conftest import csrf_token_for, make_test_config, sign_in_staff
from tests.patrons.test_registration import FORM
from tests.readers.factories import PIN, make_patron, make_sample

DEAD_DATABASE = "postgresql://nobody@127.0.0.1:1/none"


def basic(card: str, pin: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{card}:{pin}".encode()).decode()}


def patron_and_title(rt):
    with rt.db.scope() as session:
        title = make_sample(session, rt.storage)
        patron, card = make_patron(session, rt.cipher)
        return title.id, patron.id, card


def sign_in(client, card: str, pin: str = PIN) -> str:
    token = csrf_token_for(client)
    response = client.post("/login", data={"card": card, "pin": pin, "csrf_token": token})
    assert response.status_code == 303
    return csrf_token_for(client)


def session_cookie(client) -> str:
    return client.get_cookie("session").value


# 5 — SameSite -------------------------------------------------------------------------------------

def test_the_session_cookie_is_samesite_lax_and_httponly(client):
    response = client.get("/login")
    cookie = response.headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie


# 6 — CSRF with an Authorization header ------------------------------------------------------------

def test_a_bogus_basic_header_does_not_skip_csrf_for_a_cookie_session(client, rt):
    title_id, _patron_id, card = patron_and_title(rt)
    sign_in(client, card)
    forged = client.post(f"/titles/{title_id}/borrow", headers=basic("nobody", "x"))
    assert forged.status_code == 400
    with rt.db.scope() as session:
        assert session.scalars(select(Loan)).all() == []


def test_header_only_clients_need_no_csrf_token(client, rt):
    title_id, _patron_id, card = patron_and_title(rt)
    response = client.post(f"/opds/v2/titles/{title_id}/borrow", headers={**basic(card, PIN), "Accept": "application/opds+json"})
    assert response.status_code == 201


# 7 — revocable sessions ---------------------------------------------------------------------------

def test_a_copied_cookie_stops_working_after_sign_out(app, client, rt):
    _title_id, _patron_id, card = patron_and_title(rt)
    token = sign_in(client, card)
    thief = app.test_client()
    thief.set_cookie("session", session_cookie(client))
    assert thief.get("/shelf").status_code == 200
    client.post("/logout", data={"csrf_token": token})
    assert thief.get("/shelf").status_code in (302, 401)


def test_sign_out_everywhere_ends_every_device(app, client, rt):
    _title_id, _patron_id, card = patron_and_title(rt)
    sign_in(client, card)
    phone = app.test_client()
    sign_in(phone, card)
    token = csrf_token_for(client)
    assert client.post("/logout/everywhere", data={"csrf_token": token}).status_code == 303
    assert phone.get("/shelf").status_code in (302, 401)
    assert client.get("/shelf").status_code in (302, 401)
    with rt.db.scope() as session:
        assert session.scalars(select(SessionRecord)).all() == []


def test_a_pin_change_ends_the_cards_sessions(client, rt, runner):
    _title_id, _patron_id, card = patron_and_title(rt)
    sign_in(client, card)
    result = runner.invoke(args=["patrons", "set-pin", card, "--pin", "new-pin-9876"])
    assert result.exit_code == 0, result.output
    assert client.get("/shelf").status_code in (302, 401)
    sign_in(client, card, "new-pin-9876")


def test_staff_disable_and_reset_end_the_accounts_sessions(app, client, rt, runner):
    sign_in_staff(client, rt, "teacher", email="sensei@school.example.jp")
    assert client.get("/staff/").status_code == 200
    result = runner.invoke(args=["staff", "disable", "Sensei@school.example.jp"])
    assert result.exit_code == 0 and "disabled" in result.output
    assert client.get("/staff/").status_code == 302
    with rt.db.scope() as session:
        assert session.scalar(select(StaffUser.active).where(StaffUser.email == "sensei@school.example.jp")) is False
    other = app.test_client()
    sign_in_staff(other, rt, "teacher", email="kyoto@school.example.jp")
    assert runner.invoke(args=["staff", "reset", "kyoto@school.example.jp"]).exit_code == 0
    assert other.get("/staff/").status_code == 302
    assert runner.invoke(args=["staff", "disable", "nobody@school.example.jp"]).exit_code == 1


def test_the_csrf_token_changes_at_sign_in(client, rt):
    _title_id, _patron_id, card = patron_and_title(rt)
    before = csrf_token_for(client)
    after = sign_in(client, card)
    assert after != before
    title_id = patron_and_title(rt)[0]
    assert client.post(f"/titles/{title_id}/borrow", data={"csrf_token": before}).status_code == 400


# 8 — trusted proxies ------------------------------------------------------------------------------

@pytest.mark.parametrize("proxies", [0, 1])
def test_forwarded_addresses_count_only_behind_a_trusted_proxy(app_config, proxies):
    app = create_app({**app_config, "ELIBRARY_TRUSTED_PROXIES": proxies, "ELIBRARY_SIGNIN_ADDRESS_LIMIT": 3})
    try:
        client = app.test_client()
        for i in range(3):  # one client behind the proxy tries three cards
            token = csrf_token_for(client)
            client.post("/login", data={"card": f"5000{i}", "pin": "0000", "csrf_token": token}, headers={"X-Forwarded-For": "198.51.100.1"})
        token = csrf_token_for(client)
        neighbour = client.post("/login", data={"card": "60000", "pin": "0000", "csrf_token": token}, headers={"X-Forwarded-For": "198.51.100.2"})
        # Behind a trusted proxy the neighbour is another client; without one the header is ignored (it could be forged).
        assert neighbour.status_code == (401 if proxies else 429)
    finally:
        app.extensions["elibrary"].db.dispose()


# 11 — headers -------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/login", "/no-such-page", "/staff/login"])
def test_every_page_has_the_security_headers(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "object-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # development: plain HTTP on loopback


def test_a_views_own_policy_is_kept(client, rt):
    with rt.db.scope() as session:
        title_id = make_sample(session, rt.storage, license="open").id
    page = client.get(f"/read/{title_id}")
    assert page.headers["Content-Security-Policy"] != SITE_CSP
    assert "wasm-unsafe-eval" in page.headers["Content-Security-Policy"]  # the reader's own policy, not the site's
    assert page.headers["X-Content-Type-Options"] == "nosniff"


def test_hsts_in_production(app_config):
    app = create_app({**app_config, "ELIBRARY_ENV": "production", "ELIBRARY_PUBLIC_URL": "https://library.example.jp"})
    try:
        response = app.test_client().get("/login", base_url="https://library.example.jp")
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        app.extensions["elibrary"].db.dispose()


def test_personal_pages_are_never_stored(client, rt):
    _title_id, _patron_id, card = patron_and_title(rt)
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")  # the public catalog may be cached
    sign_in(client, card)
    for path in ("/shelf", "/shelf/history", "/"):
        response = client.get(path)
        assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"], path
    staff = client.application.test_client()
    sign_in_staff(staff, rt, "librarian")
    for path in ("/staff/", "/staff/patrons/"):
        response = staff.get(path)
        assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"], path


# 12 — public URL and host header ------------------------------------------------------------------

def test_absolute_links_use_the_public_url_and_other_hosts_are_refused(app_config):
    app = create_app({**app_config, "ELIBRARY_PUBLIC_URL": "https://library.example.jp", "ELIBRARY_ENV": "production"})
    try:
        client = app.test_client()
        feed = client.get("/opds/v2/", base_url="https://library.example.jp", headers={"Accept": "application/opds+json"})
        assert feed.status_code == 200 and all(link["href"].startswith("https://library.example.jp/") for link in feed.json["links"])
        evil = client.get("/opds/v2/", base_url="http://evil.example", headers={"Accept": "application/opds+json"})
        assert evil.status_code == 400
        assert client.get("/healthz", base_url="http://10.0.0.5:5000").status_code in (200, 503)  # load balancers ask by address
        again = client.get("/opds/v2/", base_url="https://library.example.jp", headers={"Accept": "application/opds+json"})
        assert "evil.example" not in again.get_data(as_text=True)  # nor did it poison the feed cache
    finally:
        app.extensions["elibrary"].db.dispose()


def test_in_development_the_public_url_still_decides_links_and_e_mails(app_config, rt):
    app = create_app({**app_config, "ELIBRARY_PUBLIC_URL": "https://library.example.jp/opac"})
    try:
        client = app.test_client()
        feed = client.get("/opac/opds/v2/", base_url="http://evil.example", headers={"Accept": "application/opds+json"})
        assert feed.status_code == 200
        assert all(link["href"].startswith("https://library.example.jp/opac/") for link in feed.json["links"])
        token = csrf_token_for_path(client, "/opac/register")
        client.post("/opac/register", data={**FORM, "csrf_token": token}, base_url="http://evil.example")
        sent = app.extensions["elibrary"].notifier.sent
        assert sent and "https://library.example.jp/opac/register/confirm/" in sent[-1].body and "evil.example" not in sent[-1].body
    finally:
        app.extensions["elibrary"].db.dispose()


def csrf_token_for_path(client, path: str) -> str:
    import re

    page = client.get(path, base_url="http://evil.example").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


# 13 — outages and bad input -----------------------------------------------------------------------

def test_a_database_outage_is_a_503_page_with_retry_after(tmp_path):
    app = create_app(make_test_config(tmp_path / "instance", DEAD_DATABASE, ELIBRARY_SEARCH="memory"))
    client = app.test_client()
    page = client.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert "一時的にご利用いただけません" in page.get_data(as_text=True) and "briefly unavailable" in page.get_data(as_text=True)
    feed = client.get("/opds/v2/", headers={"Accept": "application/opds+json"})
    assert feed.status_code == 503 and feed.mimetype == "application/problem+json" and feed.headers["Retry-After"]


def test_commands_say_one_line_on_a_dead_database(tmp_path):
    app = create_app(make_test_config(tmp_path / "instance", DEAD_DATABASE, ELIBRARY_SEARCH="memory"))
    result = app.test_cli_runner().invoke(args=["staff", "add", "a@city.example.jp", "--role", "admin"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == ["Error: the database is not reachable (データベースに接続できません): OperationalError"]


@pytest.mark.parametrize("body", ['{"location": "epubcfi(/6/4!)", "fraction": "nan"}', '{"location": "epubcfi(/6/4!)", "fraction": NaN}',
                                  '{"location": "epubcfi(/6/4!)", "fraction": 0.5, "bookmarks": [{"location": "x", "fraction": "abc"}]}',
                                  '{"location": ', '[]', '{"fraction": 0.1}'])
def test_bad_reading_positions_are_400_and_keep_the_saved_place(client, rt, body):
    from tests.readers.test_views import borrow

    title_id, patron_id, card = patron_and_title(rt)
    token = sign_in(client, card)
    borrow(rt, patron_id, title_id)
    url = f"/read/{title_id}/position"
    assert client.put(url, json={"location": "epubcfi(/6/8!)", "fraction": 0.4}, headers={"X-CSRF-Token": token}).status_code == 200
    bad = client.put(url, data=body, content_type="application/json", headers={"X-CSRF-Token": token})
    assert bad.status_code == 400
    kept = client.get(url).json
    assert kept["location"] == "epubcfi(/6/8!)" and kept["fraction"] == 0.4


def test_a_pin_change_is_never_answered_from_the_opds_credential_cache(client, rt, runner):
    _title_id, _patron_id, card = patron_and_title(rt)
    shelf = {"Accept": "application/opds+json"}
    assert client.get("/opds/v2/shelf", headers={**shelf, **basic(card, PIN)}).status_code == 200  # remembered now
    assert runner.invoke(args=["patrons", "set-pin", card, "--pin", "new-pin-9876"]).exit_code == 0
    assert client.get("/opds/v2/shelf", headers={**shelf, **basic(card, PIN)}).status_code == 401
    assert client.get("/opds/v2/shelf", headers={**shelf, **basic(card, "new-pin-9876")}).status_code == 200
