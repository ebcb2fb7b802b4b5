"""Issue #11 items 1 and 2 without a browser: content tokens, the single-host content routes, HTML-safe JSON."""
from __future__ import annotations

import json
import logging
import re
import threading
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from elibrary.lending import services as lending
from elibrary.patrons.models import Patron
from readers import content_tokens
from readers.content_origin import ENGINE_PATCHES, EnginePatchFailed, patch_engine_file
from readers.views import ENGINES
from tests.readers.factories import make_book, make_epub2, make_patron, make_sample

KEY = content_tokens.token_key("a secret key for the tests, long enough")
HOSTILE_TITLE = '</script><meta http-equiv=refresh content="0;url=//evil.example/">\'"&<!--'
CHAPTER = "/r/OPS/xhtml/%E4%B8%80.xhtml"
REPO = Path(__file__).resolve().parents[2]


def test_a_token_is_bound_to_its_title_and_expires_within_minutes():
    token = content_tokens.issue(KEY, 7, 42, now=1_000_000)
    claims = content_tokens.verify(KEY, token, 7, now=1_000_000 + 60)
    assert (claims.title_id, claims.loan_id) == (7, 42)
    assert claims.expires - 1_000_000 == content_tokens.TTL_SECONDS <= 600
    with pytest.raises(content_tokens.BadContentToken, match="expired"):
        content_tokens.verify(KEY, token, 7, now=1_000_000 + content_tokens.TTL_SECONDS)
    with pytest.raises(content_tokens.BadContentToken, match="another title"):
        content_tokens.verify(KEY, token, 8, now=1_000_000)
    title, loan, expires, signature = token.split(".")
    for forged in (f"{title}.{loan}.{int(expires) + 3600}.{signature}", f"{title}.0.{expires}.{signature}",
                   content_tokens.issue(content_tokens.token_key("another site's key"), 7, 42, now=1_000_000)):
        with pytest.raises(content_tokens.BadContentToken, match="forged"):
            content_tokens.verify(KEY, forged, 7, now=1_000_000)
    for junk in (None, "", "7.42", "a.b.c.d", "7.42.1000300." + "x" * 300):
        with pytest.raises(content_tokens.BadContentToken):
            content_tokens.verify(KEY, junk, 7, now=1_000_000)


def _reader_data(page_text: str) -> dict:
    match = re.search(r'<script type="application/json" id="book-data">(.*?)</script>', page_text, re.DOTALL)
    return json.loads(match.group(1))


def test_content_routes_take_the_token_alone_and_close_when_the_loan_ends(client, rt, app):
    with rt.db.scope() as session:
        title_id = make_sample(session, rt.storage).id
        patron, _card = make_patron(session, rt.cipher)
        loan_id = lending.borrow(session, patron, title_id).id
        patron_id = patron.id
    key = content_tokens.token_key(app.secret_key)
    token = content_tokens.issue(key, title_id, loan_id)
    header = {content_tokens.HEADER: token}
    fresh = app.test_client()  # no session cookie at all
    chapter = fresh.get(f"/read/{title_id}{CHAPTER}", headers=header)
    assert chapter.status_code == 200 and "非人情" in chapter.text
    assert "Set-Cookie" not in chapter.headers
    assert "script-src 'none'" in chapter.headers["Content-Security-Policy"]
    assert fresh.get(f"/read/{title_id}{CHAPTER}").status_code == 403  # no token, no session: nothing
    assert fresh.get(f"/read/{title_id}{CHAPTER}?{content_tokens.HEADER}={token}").status_code == 403  # header only
    assert fresh.get(f"/read/{title_id}{CHAPTER}", headers={content_tokens.HEADER: token[:-2] + "xx"}).status_code == 401
    other = content_tokens.issue(key, title_id + 1, loan_id)
    assert fresh.get(f"/read/{title_id}{CHAPTER}", headers={content_tokens.HEADER: other}).status_code == 401
    with rt.db.scope() as session:
        lending.return_loan(session, session.get(Patron, patron_id), loan_id)
    assert fresh.get(f"/read/{title_id}{CHAPTER}", headers=header).status_code == 403


def test_the_reader_page_hands_out_a_token_and_renews_it_only_while_the_loan_lasts(client, rt):
    from tests.readers.test_views import sign_in

    with rt.db.scope() as session:
        title_id = make_sample(session, rt.storage).id
        patron, card = make_patron(session, rt.cipher)
        loan_id = lending.borrow(session, patron, title_id).id
        patron_id = patron.id
    sign_in(client, card)
    data = _reader_data(client.get(f"/read/{title_id}").text)
    assert data["contentHeader"] == content_tokens.HEADER and data["tokenTtl"] == content_tokens.TTL_SECONDS
    assert data["contentToken"] not in data["base"] + data["pdf"] + data["tokenUrl"]  # never in a URL
    renewed = client.get(data["tokenUrl"])
    assert renewed.status_code == 200 and renewed.headers["Cache-Control"] == "no-store"
    token = renewed.get_json()["token"]
    assert client.get(f"/read/{title_id}{CHAPTER}", headers={content_tokens.HEADER: token}).status_code == 200
    with rt.db.scope() as session:
        lending.return_loan(session, session.get(Patron, patron_id), loan_id)
    assert client.get(data["tokenUrl"]).status_code == 403


def test_tokens_never_reach_the_access_log(rt, app, caplog):
    with rt.db.scope() as session:
        title_id = make_sample(session, rt.storage, license="open").id
    token = content_tokens.issue(content_tokens.token_key(app.secret_key), title_id, None)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        caplog.set_level(logging.INFO, logger="werkzeug")
        request = urllib.request.Request(f"http://127.0.0.1:{server.server_port}/read/{title_id}{CHAPTER}",
                                         headers={content_tokens.HEADER: token})
        with urllib.request.urlopen(request) as response:
            assert response.status == 200
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert any(f"/read/{title_id}/r/" in line for line in lines)  # the request was logged ...
    assert not any(token in line or token.split(".")[-1] in line for line in lines)  # ... without its token


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text of each script element."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def _inert(html: str) -> _Tags:
    tags = _Tags()
    tags.feed(html)
    assert not [attrs for tag, attrs in tags.tags if tag == "meta" and attrs.get("http-equiv")]
    # The payload may appear as text or inside an attribute's value, never as an element or attribute of its own.
    assert not [attrs for tag, attrs in tags.tags if "http-equiv" in attrs or tag == "meta" and "url=" in attrs.get("content", "")]
    return tags


@pytest.mark.parametrize("kind", ["epub", "pdf"])
def test_a_title_that_closes_the_script_element_stays_inert(client, rt, kind):
    from tests.readers.factories import PDF, make_pdf

    with rt.db.scope() as session:
        data = make_epub2() if kind == "epub" else make_pdf(2)
        title_id = make_book(session, rt.storage, data, "application/epub+zip" if kind == "epub" else PDF,
                             license="open", title=HOSTILE_TITLE).id
    reader = client.get(f"/read/{title_id}")
    assert reader.status_code == 200
    tags = _inert(reader.text)
    book_data = json.loads(tags.scripts[[attrs.get("id") for tag, attrs in tags.tags if tag == "script"].index("book-data")])
    assert book_data["title"] == HOSTILE_TITLE  # the whole title arrives as data, nothing of it as markup
    assert all("</script" not in script.lower() and "<!--" not in script for script in tags.scripts)
    for path in (f"/titles/{title_id}", "/search?q=script", "/"):  # pages that show the title as text
        page = client.get(path)
        assert page.status_code == 200
        _inert(page.text)
    assert "&lt;/script&gt;&lt;meta" in client.get(f"/titles/{title_id}").text


def test_no_template_marks_anything_safe():
    templates = [p for p in REPO.rglob("*.html") if "node_modules" not in p.parts and ".venv" not in p.parts
                 and "tests" not in p.parts]
    assert templates
    offenders = [str(p.relative_to(REPO)) for p in templates if re.search(r"\|\s*safe\b", p.read_text(encoding="utf-8"))]
    assert offenders == []  # data in HTML goes through autoescaping; in a script element, through |tojson


def test_the_engine_is_served_with_book_frames_that_cannot_run_scripts(client):
    for path in ENGINE_PATCHES:
        source = (ENGINES / path).read_text(encoding="utf-8")
        patched = patch_engine_file(path, source)  # fails when a foliate-js upgrade moves the text
        assert "allow-scripts'" not in patched and "elibraryFrameSandbox ?? 'allow-same-origin'" in patched
        served = client.get(f"/read/engine/{path}")
        assert served.status_code == 200 and served.mimetype == "text/javascript"
        assert served.text == patched
    with pytest.raises(EnginePatchFailed):
        patch_engine_file("foliate-js/paginator.js", "export class Paginator {}")


@pytest.mark.slow
def test_gunicorns_access_log_never_holds_a_content_token(app, rt, tmp_path):
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with rt.db.scope() as session:
        title_id = make_sample(session, rt.storage, license="open").id
    token = content_tokens.issue(content_tokens.token_key(app.secret_key), title_id, None)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "access.log"
    env = {**os.environ, **{name: str(app.config[name]) for name in (
        "ELIBRARY_INSTANCE_PATH", "ELIBRARY_DATABASE_URL", "ELIBRARY_SEARCH_PATH", "ELIBRARY_STORAGE_PATH")},
        "ELIBRARY_SEARCH": "whoosh", "ELIBRARY_NOTIFIER": "log"}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
                                "--access-logfile", str(log), "wsgi:app"],  # as `make run` and the README run it
                               cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = httpx.get(f"{url}/read/{title_id}", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        issued = _reader_data(page.text)["contentToken"]
        chapter = httpx.get(f"{url}/read/{title_id}{CHAPTER}", headers={content_tokens.HEADER: token}, timeout=5)
        assert chapter.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=20)
    text = log.read_text(encoding="utf-8")
    assert f"/read/{title_id}/r/OPS/xhtml/" in text  # the content request is in the log ...
    for secret in (token, issued):
        assert secret not in text and secret.rsplit(".", 1)[1] not in text  # ... without any token


def test_a_books_script_is_served_as_text_that_no_page_can_run(client, rt):
    from tests.readers.hostile_books import hostile_epub

    with rt.db.scope() as session:
        title_id = make_book(session, rt.storage, hostile_epub("http://localhost", "http://localhost", 1, 1),
                             license="open").id
    script = client.get(f"/read/{title_id}/r/OPS/evil.js")
    assert script.status_code == 200 and "pwned" in script.text
    assert script.mimetype == "text/plain" and script.headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'none'" in script.headers["Content-Security-Policy"]
