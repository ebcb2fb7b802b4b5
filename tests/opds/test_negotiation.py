"""Accept negotiation between OPDS 1 and 2, exact media types, no forced compression."""
from __future__ import annotations

import pytest

from elibrary.opds.negotiation import parse_accept, preferred_version

KOREADER = "application/opds+json, application/atom+xml;profile=opds-catalog, */*"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    ("header", "version"),
    [
        (KOREADER, 2),
        ("application/atom+xml;profile=opds-catalog, application/opds+json", 1),
        ("application/atom+xml;q=0.5, application/opds+json", 2),
        ("application/opds+json;q=0.4, application/atom+xml;q=0.9", 1),
        ("application/json", 2),
        (BROWSER, 1),
        ("*/*", 1),
        (None, 1),
        ("", 1),
        ("text/html", None),
        ("application/opds+json;q=0, */*;q=0.1", 1),
        ("application/atom+xml;q=0, application/*;q=0.5", 2),
        # malformed ranges are skipped, the rest still counts
        ("garbage, application/opds+json", 2),
        (";;;,,,/", 1),
        ("application/opds+json;q=abc, application/atom+xml", 1),
        ("*/json, application/opds+json", 2),
        ("\x00\xff/\x01", 1),
        ("application/opds+json;q=7", 1),
    ],
)
def test_preferred_version(header, version):
    assert preferred_version(header) == version


def test_parse_accept_keeps_client_order_and_quality():
    ranges = parse_accept(KOREADER)
    assert [(r.type, r.subtype, r.quality, r.position) for r in ranges] == [
        ("application", "opds+json", 1.0, 0),
        ("application", "atom+xml", 1.0, 1),
        ("*", "*", 1.0, 2),
    ]


def test_koreader_gets_opds2_at_the_negotiated_root(client):
    response = client.get("/opds/", headers={"Accept": KOREADER, "Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/opds+json"
    assert "Accept" in response.headers["Vary"]
    assert "Content-Encoding" not in response.headers
    assert response.json["links"][0]["href"].endswith("/opds/v2/")


def test_atom_client_and_browser_get_opds1(client):
    for accept in ("application/atom+xml;profile=opds-catalog", BROWSER, None):
        response = client.get("/opds", headers={"Accept": accept} if accept else {})
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/atom+xml;profile=opds-catalog;kind=navigation"


def test_unacceptable_accept_is_406_problem(client):
    response = client.get("/opds/", headers={"Accept": "text/html"})
    assert response.status_code == 406
    assert response.mimetype == "application/problem+json"
    assert response.json["title_ja"] and response.json["title_en"]


@pytest.mark.parametrize("accept", ["garbage", "a/b/c;q=;", "application/opds+json;q=2", "\u3042/\u3044"])
def test_malformed_accept_never_fails(client, accept):
    for url in ("/opds/", "/opds/v1/", "/opds/v2/", "/opds/v2/new", "/opds/auth"):
        assert client.get(url, headers={"Accept": accept}).status_code == 200, url


def test_versioned_roots_have_exact_media_types(client):
    assert client.get("/opds/v1/").headers["Content-Type"] == "application/atom+xml;profile=opds-catalog;kind=navigation"
    assert client.get("/opds/v1/new").headers["Content-Type"] == "application/atom+xml;profile=opds-catalog;kind=acquisition"
    assert client.get("/opds/v2/").headers["Content-Type"] == "application/opds+json"
    assert client.get("/opds/v1/opensearch.xml").headers["Content-Type"] == "application/opensearchdescription+xml"
    assert client.get("/opds/auth").headers["Content-Type"] == "application/opds-authentication+json"


def test_every_html_page_points_reading_apps_to_both_catalogs(client):
    # OPDS autodiscovery: an app (or a person pasting the library's address) given the home page finds the feeds.
    from lxml import html

    page = html.fromstring(client.get("/").data)
    links = {link.get("type"): link.get("href") for link in page.xpath("//head/link[@rel='alternate']")}
    assert links == {
        "application/atom+xml;profile=opds-catalog;kind=navigation": "/opds/v1/",
        "application/opds+json": "/opds/v2/",
    }
    for media_type, href in links.items():
        assert client.get(href).headers["Content-Type"] == media_type
