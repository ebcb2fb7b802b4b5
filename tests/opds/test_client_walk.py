"""A reading app's walk over real HTTP against gunicorn, following links only.

Start at ``/opds/v2/`` with KOReader's ``Accept``, search in Japanese through the templated search
link, hit the shelf and get 401 with the authentication document, read its Basic labels, sign in,
borrow, see the loan on the shelf, fetch the acquisition link, return it, then place a hold on a
title someone else has and see its position.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.opds.conftest import OTHER_PATRON, PATRON
from tests.opds.reader import Feed, parse_feed2, parse_publication2

ROOT = Path(__file__).resolve().parents[2]
KOREADER_ACCEPT = "application/opds+json, application/atom+xml;profile=opds-catalog, */*"
BORROW = "http://opds-spec.org/acquisition/borrow"
ACQ = "http://opds-spec.org/acquisition"
REVOKE = "http://librarysimplified.org/terms/rel/revoke"

pytestmark = pytest.mark.slow


@pytest.fixture
def app_config(app_config, engine_name, tmp_path):
    if engine_name != "sqlite":
        pytest.skip("the walk serves a SQLite instance")
    return {**app_config, "ELIBRARY_SEARCH": "whoosh", "ELIBRARY_OPDS_COUNT_SECONDS": 0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn(app, rt, catalog):
    """gunicorn serving the same instance folder and database, on a free loopback port."""
    port = _free_port()
    env = {
        **os.environ,
        "ELIBRARY_INSTANCE_PATH": app.config["ELIBRARY_INSTANCE_PATH"],
        "ELIBRARY_DATABASE_URL": app.config["ELIBRARY_DATABASE_URL"],
        "ELIBRARY_SEARCH": "whoosh",
        "ELIBRARY_SEARCH_PATH": app.config["ELIBRARY_SEARCH_PATH"],
        "ELIBRARY_STORAGE_PATH": app.config["ELIBRARY_STORAGE_PATH"],
        "ELIBRARY_NOTIFIER": "log",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/opds/auth", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
            if process.poll() is not None:
                pytest.fail(process.stdout.read().decode(errors="replace")[-3000:])
        else:
            pytest.fail("gunicorn did not start")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


def _get_feed(http: httpx.Client, url: str) -> Feed:
    response = http.get(url)
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/opds+json"
    assert "content-encoding" not in response.headers
    return parse_feed2(response.content)


def _expand(template: str, query: str) -> str:
    assert template.endswith("{?query}")
    return str(httpx.URL(template.removesuffix("{?query}"), params={"query": query}))


def test_reading_app_walk(gunicorn):
    headers = {"Accept": KOREADER_ACCEPT, "Accept-Encoding": "identity", "User-Agent": "KOReader/2026.03"}
    with httpx.Client(headers=headers, timeout=30) as http:
        root = _get_feed(http, gunicorn + "/opds/v2/")
        assert [n.title for n in root.navigation][:2] == ["新着の本", "よく読まれている本"]
        new = _get_feed(http, root.navigation[0].href)
        assert new.publications

        # search in Japanese through the templated link; the reading of the author matches too
        results = _get_feed(http, _expand(root.link("search").href, "なつめ そうせき"))
        titles = {p.title for p in results.publications}
        assert {"こころ", "吾輩は猫である"} <= titles
        kokoro = next(p for p in results.publications if p.title == "こころ")
        borrow = kokoro.link(BORROW)
        assert borrow.properties["availability"]["state"] == "available"

        # the shelf needs a login: 401 with the authentication document
        shelf_url = root.link("http://opds-spec.org/shelf").href
        challenge = http.get(shelf_url)
        assert challenge.status_code == 401
        assert challenge.headers["content-type"] == "application/opds-authentication+json"
        assert challenge.headers["www-authenticate"].startswith("Basic")
        document = challenge.json()
        (basic_flow,) = [f for f in document["authentication"] if f["type"] == "http://opds-spec.org/auth/basic"]
        assert basic_flow["labels"] == {"login": "利用者番号", "password": "パスワード"}
        assert http.get(shelf_url, auth=(PATRON[0], "wrong")).status_code == 401

        http.auth = httpx.BasicAuth(*PATRON)
        assert _get_feed(http, shelf_url).publications == []

        # borrow: POST, the answer is the updated publication with a plain acquisition link
        borrowed = http.post(borrow.href)
        assert borrowed.status_code == 201
        loan = parse_publication2(borrowed.json())
        acquisition = loan.link(ACQ)
        assert acquisition.type == "application/epub+zip"
        assert [p.title for p in _get_feed(http, shelf_url).publications] == ["こころ"]
        book = http.get(acquisition.href)
        assert book.status_code == 200 and book.content[:2] == b"PK"

        # return it: the acquisition link goes, borrowing is offered again
        returned = http.request("DELETE", loan.link(REVOKE).href)
        assert returned.status_code == 200
        assert parse_publication2(returned.json()).link(ACQ) is None
        assert _get_feed(http, shelf_url).publications == []

        # a title another patron has: borrowing places a hold, the shelf shows the position
        with httpx.Client(headers=headers, auth=OTHER_PATRON, timeout=30) as other:
            children = _get_feed(other, _expand(root.link("search").href, "銀河鉄道"))
            assert other.post(children.publications[0].link(BORROW).href).status_code == 201
        children = _get_feed(http, _expand(root.link("search").href, "銀河鉄道"))
        hold_link = children.publications[0].link(BORROW)
        assert hold_link.properties["availability"]["state"] == "unavailable"
        held = http.post(hold_link.href)
        assert held.status_code == 201
        state = parse_publication2(held.json()).link(BORROW).properties
        assert state["availability"]["state"] == "reserved"
        assert state["holds"] == {"total": 1, "position": 1}
        (on_shelf,) = _get_feed(http, shelf_url).publications
        assert on_shelf.link(BORROW).properties["holds"]["position"] == 1
