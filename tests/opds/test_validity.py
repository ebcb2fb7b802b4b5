"""Every feed reachable from the roots validates: OPDS 2 JSON Schemas, OPDS 1.2 RELAX NG (lenient profile).

The crawler follows every link of an OPDS type from ``/opds/v1/`` and ``/opds/v2/`` (navigation,
paging, facets, entries, the shelf), both anonymously and as a patron with a loan and a hold, and
adds searches (the OPDS 1 OpenSearch template and the OPDS 2 URI template) in Japanese.
"""
from __future__ import annotations

import shutil
import subprocess
from urllib.parse import urlsplit

import pytest
from lxml import etree

from elibrary.lending.services import borrow, place_hold
from elibrary.patrons.services import find_by_card
from tests.opds.conftest import OTHER_PATRON, PATRON, basic
from tests.opds.validators import (
    AUTHENTICATION,
    FEED,
    FEED_SPECS,
    PUBLICATION,
    RNC,
    atom_errors,
    json_errors,
    lending_extension_errors,
)

ATOM_NS = {"a": "http://www.w3.org/2005/Atom", "os": "http://a9.com/-/spec/opensearch/1.1/"}
# POST-only links (borrow, return/cancel) are exercised in test_lending, not crawled with GET.
ACTIONS = ("http://opds-spec.org/acquisition/borrow", "http://librarysimplified.org/terms/rel/revoke")
FACETED = ("/new", "/search")
OPDS_TYPES = ("application/atom+xml", "application/opds+json", "application/opds-publication+json")


@pytest.fixture
def app_config(app_config):
    # Three titles a page, so paging links appear on the small test catalog.
    return {**app_config, "ELIBRARY_OPDS_PAGE_SIZE": 3}


@pytest.fixture
def lending_state(rt, catalog):
    """PATRON has こころ on loan (which makes it unavailable) and holds it for OTHER_PATRON... and the reverse."""
    with rt.db.scope() as session:
        me = find_by_card(session, rt.cipher, PATRON[0])
        other = find_by_card(session, rt.cipher, OTHER_PATRON[0])
        borrow(session, other, catalog.children)
        borrow(session, me, catalog.one_copy)
        place_hold(session, me, catalog.children)
    return catalog


def _facet_depth(path: str) -> int:
    query = urlsplit(path).query
    return sum(query.count(f"{group}=") for group in ("audience", "format", "language", "availability"))


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def crawl(client, start: str, headers: dict, extra: list[str]) -> dict[str, bytes]:
    """GET every OPDS document reachable by links from ``start``; returns {path: body}."""
    seen: dict[str, bytes] = {}
    queue = [start, *extra]
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        response = client.get(path, headers=headers)
        if response.status_code == 401 and not headers:
            # A protected feed (the shelf) seen anonymously: the body is the authentication document.
            assert response.headers["Content-Type"] == "application/opds-authentication+json"
            assert json_errors(response.json, AUTHENTICATION) == []
            continue
        assert response.status_code == 200, (path, response.status_code, response.data[:300])
        seen[path] = response.data
        for rel, href, type_ in _links(response):
            if not type_.startswith(OPDS_TYPES) or "{" in href or rel in ACTIONS:
                continue
            if _facet_depth(_path(href)) > 1:
                continue  # one facet at a time (and their pages): combinations would multiply the crawl
            if rel == "http://opds-spec.org/facet" and not urlsplit(path).path.endswith(FACETED):
                continue  # every facet of two feeds is enough: all feeds build facets with the same code
            queue.append(_path(href))
    return seen


def _links(response):
    if response.mimetype == "application/atom+xml":
        root = etree.fromstring(response.data)
        return [(link.get("rel"), link.get("href"), link.get("type") or "") for link in root.iter("{http://www.w3.org/2005/Atom}link")]
    document = response.json
    found = []
    for link in document.get("links", []) + document.get("navigation", []):
        found.append((link.get("rel"), link["href"], link.get("type", "")))
    for group in document.get("facets", []):
        found += [("http://opds-spec.org/facet", link["href"], link.get("type", "")) for link in group["links"]]
    for publication in document.get("publications", []):
        found += [(link.get("rel"), link["href"], link.get("type", "")) for link in publication["links"]]
    return found


@pytest.mark.parametrize("authenticated", [False, True], ids=["anonymous", "patron"])
def test_every_opds1_document_is_valid(client, lending_state, authenticated):
    headers = basic() if authenticated else {}
    extra = ["/opds/v1/search?q=夏目", "/opds/v1/search?q=ネコ&audience=general", "/opds/v1/search?q=該当なしの言葉"]
    if authenticated:
        extra.append("/opds/v1/shelf")
    documents = crawl(client, "/opds/v1/", headers, extra)
    assert len(documents) > 35
    for path, body in documents.items():
        assert atom_errors(body) == [], path
    assert any("page=2" in p for p in documents), "paging was crawled"
    assert any("audience=children" in p for p in documents), "facets were crawled"
    assert any("/titles/" in p for p in documents), "complete entries were crawled"
    lending = etree.fromstring(documents[f"/opds/v1/titles/{lending_state.children}"])
    assert lending.find(".//{http://opds-spec.org/2010/catalog}availability") is not None


@pytest.mark.parametrize("authenticated", [False, True], ids=["anonymous", "patron"])
def test_every_opds2_document_is_valid(client, lending_state, authenticated):
    headers = basic() if authenticated else {}
    extra = ["/opds/v2/search?query=夏目", "/opds/v2/search?query=ネコ&format=epub-reflowable", "/opds/v2/search?query=該当なしの言葉"]
    if authenticated:
        extra.append("/opds/v2/shelf")
    documents = crawl(client, "/opds/v2/", headers, extra)
    assert len(documents) > 35
    import json

    for path, body in documents.items():
        document = json.loads(body)
        if "/titles/" in path:
            assert json_errors(document, PUBLICATION) == [], path
        else:
            assert json_errors(document, FEED) == [], path
            assert json_errors(document, FEED_SPECS) == [], path
    assert any("page=2" in p for p in documents)
    assert any("format=pdf" in p for p in documents)


def test_empty_feeds_are_valid(client, catalog):
    """No publications: OPDS 2 gives a one-link navigation back to the catalog (minItems 1)."""
    for path in ("/opds/v2/shelf", "/opds/v2/popular", "/opds/v2/search?query=該当なしの言葉", "/opds/v2/ndc/4"):
        response = client.get(path, headers=basic())
        assert response.status_code == 200
        assert "publications" not in response.json
        assert response.json["navigation"][0]["href"].endswith("/opds/v2/")
        assert json_errors(response.json) == [], path
    for path in ("/opds/v1/shelf", "/opds/v1/popular", "/opds/v1/ndc/4"):
        response = client.get(path, headers=basic())
        assert atom_errors(response.data) == [], path


def test_authentication_document_is_valid(client):
    response = client.get("/opds/auth")
    assert response.headers["Content-Type"] == "application/opds-authentication+json"
    assert json_errors(response.json, AUTHENTICATION) == []


def test_lenient_profile_catches_bad_lending_extensions():
    bad = (
        b'<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opds="http://opds-spec.org/2010/catalog">'
        b'<opds:availability status="maybe"/><link rel="x" href="y"><opds:holds total="many"/><opds:copies available="1"/></link></feed>'
    )
    errors = lending_extension_errors(etree.fromstring(bad))
    assert "opds:availability outside atom:link" in errors
    assert "opds:availability status='maybe'" in errors
    assert "opds:holds total='many'" in errors
    assert "opds:copies without total" in errors


def test_strict_schema_still_applies_after_stripping():
    assert atom_errors(b'<feed xmlns="http://www.w3.org/2005/Atom"><title>no id</title></feed>') != []


def test_opensearch_description(client):
    root = etree.fromstring(client.get("/opds/v1/opensearch.xml").data)
    url = root.find("os:Url", ATOM_NS)
    assert url.get("type") == "application/atom+xml;profile=opds-catalog;kind=acquisition"
    assert url.get("template").endswith("/opds/v1/search?q={searchTerms}")


@pytest.mark.skipif(shutil.which("jing") is None, reason="Debian jing is not installed")
def test_jing_agrees_on_the_lenient_profile(client, lending_state, tmp_path):
    """The same check with Debian's jing and the .rnc schema (what CI runs), on a feed, an entry and the shelf."""
    from tests.opds.validators import strip_lending_extensions

    files = []
    for index, path in enumerate(("/opds/v1/", "/opds/v1/new", f"/opds/v1/titles/{lending_state.children}", "/opds/v1/shelf")):
        root = etree.fromstring(client.get(path, headers=basic()).data)
        target = tmp_path / f"doc{index}.xml"
        target.write_bytes(etree.tostring(strip_lending_extensions(root)))
        files.append(str(target))
    result = subprocess.run(["jing", "-c", str(RNC), *files], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
