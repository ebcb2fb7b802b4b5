"""Authentication for OPDS and lending through OPDS: borrow, hold, shelf, fulfil, return, cancel."""
from __future__ import annotations

from lxml import etree

from elibrary.ils.base import ILSUnavailable
from elibrary.lending.models import Loan
from elibrary.lending.policy import save_category
from tests.opds.conftest import OTHER_PATRON, basic
from tests.opds.validators import AUTHENTICATION, PUBLICATION, atom_errors, json_errors

OPDS = "{http://opds-spec.org/2010/catalog}"
ATOM = "{http://www.w3.org/2005/Atom}"
BORROW = "http://opds-spec.org/acquisition/borrow"
ACQ = "http://opds-spec.org/acquisition"
REVOKE = "http://librarysimplified.org/terms/rel/revoke"


def _links(publication: dict, rel: str) -> list[dict]:
    return [link for link in publication["links"] if link.get("rel") == rel]


def test_protected_resource_without_credentials_is_401_with_the_document(client, catalog):
    for method, path in (("get", "/opds/v2/shelf"), ("get", "/opds/v1/shelf"), ("post", f"/opds/v2/titles/{catalog.one_copy}/borrow")):
        response = getattr(client, method)(path)
        assert response.status_code == 401, path
        assert response.headers["Content-Type"] == "application/opds-authentication+json"
        assert response.headers["WWW-Authenticate"].startswith("Basic ")
        assert 'rel="http://opds-spec.org/auth/document"' in response.headers["Link"]
        assert json_errors(response.json, AUTHENTICATION) == []


def test_authentication_document_content(client):
    document = client.get("/opds/auth").json
    assert document["id"] == "http://localhost/opds/auth"
    (flow,) = document["authentication"]
    assert flow == {"type": "http://opds-spec.org/auth/basic", "labels": {"login": "利用者番号", "password": "パスワード"}}
    rels = {link["rel"]: link for link in document["links"]}
    assert {"logo", "help", "register", "http://opds-spec.org/shelf", "start"} <= set(rels)
    assert rels["help"]["href"] == "http://localhost/help" and rels["register"]["href"] == "http://localhost/register"
    assert client.get("/help").status_code == 200 and client.get("/register").status_code == 200
    logo = client.get(rels["logo"]["href"].removeprefix("http://localhost"))
    assert logo.status_code == 200 and logo.mimetype == "image/png"
    english = client.get("/opds/auth?lang=en").json
    assert english["authentication"][0]["labels"] == {"login": "Card number", "password": "Password"}


def test_palace_media_type_on_request(client):
    response = client.get("/opds/auth", headers={"Accept": "application/vnd.opds.authentication.v1.0+json"})
    assert response.headers["Content-Type"] == "application/vnd.opds.authentication.v1.0+json"


def test_wrong_credentials_are_401_even_on_public_feeds(client, catalog):
    """401, never 403: KOReader reads 403 as a final "wrong credentials"; Thorium re-prompts on 401."""
    for path in ("/opds/v2/", "/opds/v2/shelf", "/opds/v1/new"):
        response = client.get(path, headers=basic(("1001", "wrong-pin")))
        assert response.status_code == 401, path
        assert response.headers["Content-Type"] == "application/opds-authentication+json"
    assert client.get("/opds/v2/", headers={"Authorization": "Bearer abc"}).status_code == 401


def test_ils_down_is_503_problem(client, rt, catalog, monkeypatch):
    def down(card, pin):
        raise ILSUnavailable("down")

    monkeypatch.setattr(rt.ils, "authenticate", down)
    response = client.get("/opds/v2/shelf", headers=basic(("9999", "pin-9999")))
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.json["title_ja"] and response.json["title_en"]


def test_borrow_shelf_fulfil_return_opds2(client, catalog):
    entry = client.get(f"/opds/v2/titles/{catalog.one_copy}").json
    (borrow,) = _links(entry, BORROW)
    assert borrow["type"] == "application/opds-publication+json"
    assert borrow["properties"]["availability"] == {"state": "available"}
    assert borrow["properties"]["copies"] == {"total": 1, "available": 1}
    assert borrow["properties"]["indirectAcquisition"] == [{"type": "application/epub+zip"}]
    response = client.post(borrow["href"].removeprefix("http://localhost"), headers=basic())
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/opds-publication+json"
    assert json_errors(response.json, PUBLICATION) == []
    (acquisition,) = _links(response.json, ACQ)  # a plain acquisition link: KOReader can follow it
    assert acquisition["properties"]["availability"]["state"] == "available"
    assert "until" in acquisition["properties"]["availability"]
    assert _links(response.json, REVOKE)
    # again: idempotent, the same loan
    assert client.post(borrow["href"].removeprefix("http://localhost"), headers=basic()).status_code == 200
    shelf = client.get("/opds/v2/shelf", headers=basic()).json
    assert [p["metadata"]["title"] for p in shelf["publications"]] == ["こころ"]
    with client.get(acquisition["href"].removeprefix("http://localhost"), headers=basic()) as book:
        assert book.status_code == 200 and book.mimetype == "application/epub+zip" and book.data[:2] == b"PK"
    assert client.get(acquisition["href"].removeprefix("http://localhost")).status_code == 401
    assert client.get(acquisition["href"].removeprefix("http://localhost"), headers=basic(OTHER_PATRON)).status_code == 403
    # someone else now sees it unavailable
    seen = client.get(f"/opds/v2/titles/{catalog.one_copy}", headers=basic(OTHER_PATRON)).json
    assert _links(seen, BORROW)[0]["properties"]["availability"]["state"] == "unavailable"
    (revoke,) = _links(response.json, REVOKE)
    returned = client.delete(revoke["href"].removeprefix("http://localhost"), headers=basic())
    assert returned.status_code == 200
    assert _links(returned.json, BORROW) and not _links(returned.json, ACQ)
    assert "publications" not in client.get("/opds/v2/shelf", headers=basic()).json


def test_hold_position_and_cancel_opds1(client, catalog):
    path = f"/opds/v1/titles/{catalog.children}/borrow"
    assert client.post(path, headers=basic(OTHER_PATRON)).status_code == 201  # takes the only copy
    held = client.post(path, headers=basic())  # no copy: the borrow places a hold
    assert held.status_code == 201
    assert held.headers["Content-Type"] == "application/atom+xml;type=entry;profile=opds-catalog"
    assert atom_errors(held.data) == []
    entry = etree.fromstring(held.data)
    link = entry.find(f"{ATOM}link[@rel='{BORROW}']")
    assert link.find(f"{OPDS}availability").get("status") == "reserved"
    assert link.find(f"{OPDS}holds").attrib == {"total": "1", "position": "1"}
    assert link.find(f"{OPDS}copies").attrib == {"total": "1", "available": "0"}
    assert link.find(f"{OPDS}indirectAcquisition").get("type") == "application/epub+zip"
    assert entry.find(f"{ATOM}link[@rel='{ACQ}']") is None
    shelf = etree.fromstring(client.get("/opds/v1/shelf", headers=basic()).data)
    assert [e.findtext(f"{ATOM}title") for e in shelf.iter(f"{ATOM}entry")] == ["銀河鉄道の夜"]
    revoke = entry.find(f"{ATOM}link[@rel='{REVOKE}']").get("href").removeprefix("http://localhost")
    cancelled = client.post(revoke, headers=basic())
    assert cancelled.status_code == 200
    assert etree.fromstring(cancelled.data).find(f".//{OPDS}availability").get("status") == "unavailable"
    assert client.post(revoke, headers=basic()).status_code == 404


def test_loaned_entry_in_opds1_has_plain_acquisition_and_revoke(client, catalog):
    client.post(f"/opds/v1/titles/{catalog.one_copy}/borrow", headers=basic())
    entry = etree.fromstring(client.get(f"/opds/v1/titles/{catalog.one_copy}", headers=basic()).data)
    acquisition = entry.find(f"{ATOM}link[@rel='{ACQ}']")
    assert acquisition.get("type") == "application/epub+zip"
    assert acquisition.find(f"{OPDS}availability").get("status") == "available"
    assert acquisition.find(f"{OPDS}availability").get("until")
    assert entry.find(f"{ATOM}link[@rel='{REVOKE}']") is not None


def test_open_title_needs_no_loan(client, catalog):
    entry = client.get(f"/opds/v2/titles/{catalog.open}").json
    (link,) = _links(entry, "http://opds-spec.org/acquisition/open-access")
    assert link["type"] == "application/epub+zip"
    with client.get(link["href"].removeprefix("http://localhost")) as book:
        assert book.status_code == 200


def test_borrow_over_the_limit_is_403_problem(client, rt, catalog):
    with rt.db.scope() as session:
        save_category(session, "citizen", name="一般", max_loans=1)
    assert client.post(f"/opds/v2/titles/{catalog.one_copy}/borrow", headers=basic()).status_code == 201
    response = client.post(f"/opds/v2/titles/{catalog.concurrent}/borrow", headers=basic())
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert "1冊" in response.json["title_ja"] and "at most 1" in response.json["title_en"]
    with rt.db.scope() as session:
        assert session.query(Loan).count() == 1


def test_unlicensed_title_cannot_be_borrowed(client, catalog):
    response = client.post(f"/opds/v2/titles/{catalog.unlicensed}/borrow", headers=basic())
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"


def test_withdrawn_or_unknown_title_is_404_problem(client, catalog):
    for path in (f"/opds/v2/titles/{catalog.withdrawn}", "/opds/v1/titles/999999", f"/opds/v2/titles/{catalog.withdrawn}/borrow"):
        response = client.post(path, headers=basic()) if path.endswith("borrow") else client.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "application/problem+json"


def test_loan_without_download_right_says_so_instead_of_a_link_an_app_cannot_open(client, catalog):
    """A licence without DRM-free download: no acquisition link (an app would meet a 403); the entry says to read in the browser."""
    loan = client.post(f"/opds/v2/titles/{catalog.children}/borrow", headers=basic()).json
    assert _links(loan, ACQ) == []
    (web,) = [link for link in loan["links"] if link["rel"] == "alternate"]
    assert web["type"] == "text/html" and web["href"] == f"http://localhost/titles/{catalog.children}"
    assert "ブラウザで読んでください" in web["title"] and "ブラウザで読んでください" in loan["metadata"]["description"]
    assert client.get(web["href"]).status_code == 200
    atom = client.get(f"/opds/v1/titles/{catalog.children}", headers=basic()).get_data(as_text=True)
    assert "ブラウザで読んでください" in atom and 'rel="http://opds-spec.org/acquisition"' not in atom
    refused = client.get(f"/opds/titles/{catalog.children}/file", headers=basic())
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
