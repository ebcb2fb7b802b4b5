"""``ELIBRARY_CONTENT_URL``: book content only on the content host, by token; the site only on the main host."""
from __future__ import annotations

import pytest

from elibrary.lending import services as lending
from readers import content_tokens
from tests.readers.factories import PDF, make_book, make_patron, make_pdf, make_sample

CONTENT = "http://books.example.test"
MAIN = "http://localhost"
CHAPTER = "/r/OPS/xhtml/%E4%B8%80.xhtml"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "ELIBRARY_CONTENT_URL": CONTENT + "/"}


def _token(app, title_id: int, loan_id: int | None = None) -> dict:
    return {content_tokens.HEADER: content_tokens.issue(content_tokens.token_key(app.secret_key), title_id, loan_id)}


def test_the_reader_page_points_the_engine_at_the_content_origin(client, rt):
    from tests.readers.test_content_security import _reader_data

    with rt.db.scope() as session:
        title_id = make_sample(session, rt.storage, license="open").id
    page = client.get(f"/read/{title_id}")
    data = _reader_data(page.text)
    assert data["base"] == f"{CONTENT}/read/{title_id}/r/" and data["pdf"] == f"{CONTENT}/read/{title_id}/pdf"
    assert data["tokenUrl"] == f"/read/{title_id}/content-token"  # renewed on the site, with the session
    policy = {part.split()[0]: part.split()[1:] for part in page.headers["Content-Security-Policy"].split(";") if part.strip()}
    assert CONTENT in policy["connect-src"] and CONTENT not in policy["script-src"]
    assert policy["frame-src"] == ["blob:"]


def test_content_routes_answer_only_on_the_content_host_and_only_to_a_token(client, rt, app):
    with rt.db.scope() as session:
        title_id = make_sample(session, rt.storage).id
        patron, _card = make_patron(session, rt.cipher)
        loan_id = lending.borrow(session, patron, title_id).id
    headers = _token(app, title_id, loan_id)
    served = client.get(f"/read/{title_id}{CHAPTER}", base_url=CONTENT, headers={**headers, "Origin": MAIN})
    assert served.status_code == 200 and "非人情" in served.text
    assert served.headers["Access-Control-Allow-Origin"] == MAIN and "Origin" in served.headers["Vary"]
    assert served.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert "script-src 'none'" in served.headers["Content-Security-Policy"] and "Set-Cookie" not in served.headers
    # The browser's preflight for the token header.
    preflight = client.options(f"/read/{title_id}{CHAPTER}", base_url=CONTENT,
                               headers={"Origin": MAIN, "Access-Control-Request-Method": "GET",
                                        "Access-Control-Request-Headers": "x-content-token"})
    assert preflight.status_code == 200
    assert content_tokens.HEADER in preflight.headers["Access-Control-Allow-Headers"]
    assert client.get(f"/read/{title_id}{CHAPTER}", base_url=CONTENT).status_code == 401  # no token
    # The main host serves no book content, even with a valid token.
    assert client.get(f"/read/{title_id}{CHAPTER}", headers=headers).status_code == 404


def test_the_content_host_serves_nothing_of_the_site(client, rt):
    with rt.db.scope() as session:
        title_id = make_sample(session, rt.storage, license="open").id
    for path in ("/", "/login", "/shelf", f"/read/{title_id}", f"/read/{title_id}/content-token", "/opds/v2/",
                 "/static/css/site.css", "/read/engine/foliate-js/view.js", "/read/static/reader-ui.js", "/nowhere"):
        response = client.get(path, base_url=CONTENT)
        assert response.status_code == 404, path
        assert "Set-Cookie" not in response.headers and "csrf" not in response.text, path
    assert client.get("/", base_url=MAIN).status_code == 200


def test_a_pdf_is_read_by_ranges_from_the_content_host(client, rt, app):
    with rt.db.scope() as session:
        title_id = make_book(session, rt.storage, make_pdf(3), PDF, license="open").id
    headers = {**_token(app, title_id), "Range": "bytes=0-99", "Origin": MAIN}
    part = client.get(f"/read/{title_id}/pdf", base_url=CONTENT, headers=headers)
    assert part.status_code == 206 and part.data.startswith(b"%PDF") and len(part.data) == 100
    assert "Content-Range" in part.headers["Access-Control-Expose-Headers"]
    assert client.get(f"/read/{title_id}/pdf", headers=headers).status_code == 404


@pytest.mark.parametrize("settings", [
    {"ELIBRARY_CONTENT_URL": "books.example.test"},
    {"ELIBRARY_CONTENT_URL": "https://books.example.test/read/"},
    {"ELIBRARY_CONTENT_URL": "javascript:alert(1)"},
    {"ELIBRARY_CONTENT_URL": "http://books.example.test", "ELIBRARY_ENV": "production"},
    {"ELIBRARY_CONTENT_URL": "https://library.example.test", "ELIBRARY_PUBLIC_URL": "https://library.example.test"},
    {"ELIBRARY_CONTENT_URL": "https://books.example.test", "SESSION_COOKIE_DOMAIN": ".example.test"},
])
def test_a_content_url_that_would_not_isolate_books_is_refused_at_start(settings):
    from elibrary.config import ConfigError
    from readers.content_origin import check_content_url

    with pytest.raises(ConfigError):
        check_content_url(settings)
    check_content_url({**settings, "ELIBRARY_CONTENT_URL": "https://books.example.jp", "SESSION_COOKIE_DOMAIN": None})


def test_a_missing_entry_on_the_content_host_is_a_bare_404(client, rt, app):
    with rt.db.scope() as session:
        title_id = make_sample(session, rt.storage, license="open").id
    for entry in ("OPS/none.xhtml", "OPS/../../etc/passwd"):
        response = client.get(f"/read/{title_id}/r/{entry}", base_url=CONTENT, headers=_token(app, title_id))
        assert response.status_code == 404, entry
        assert "Set-Cookie" not in response.headers and "csrf" not in response.text, entry
