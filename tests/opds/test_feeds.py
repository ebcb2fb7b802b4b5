"""Feed content: navigation, entries' metadata and readings, paging, facets, search, bad input."""
from __future__ import annotations

import pytest
from lxml import etree

from tests.opds.conftest import basic

ATOM = "{http://www.w3.org/2005/Atom}"
OPDS = "{http://opds-spec.org/2010/catalog}"
DC = "{http://purl.org/dc/terms/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "ELIBRARY_OPDS_PAGE_SIZE": 2}


def test_root_navigation_links(client, catalog):
    nav = client.get("/opds/v2/").json["navigation"]
    rels = {link["href"].removeprefix("http://localhost/opds/v2/"): link.get("rel") for link in nav}
    assert rels["new"] == "http://opds-spec.org/sort/new"
    assert rels["popular"] == "http://opds-spec.org/sort/popular"
    assert {"audience/children", "audience/ya", "nav/ndc", "nav/audience", "nav/shelves", "all"} <= set(rels)
    shelves = client.get("/opds/v2/nav/shelves").json["navigation"]
    assert [s["title"] for s in shelves] == ["夏目漱石特集"]
    shelf = client.get("/opds/v2/shelves/natsume").json
    assert [p["metadata"]["title"] for p in shelf["publications"]] == ["こころ", "吾輩は猫である"]  # staff order
    assert client.get("/opds/v2/nav/ndc?lang=en").json["navigation"][9]["title"] == "9 Literature"


def test_opds1_entry_metadata_and_readings(client, catalog):
    entry = etree.fromstring(client.get(f"/opds/v1/titles/{catalog.open}").data)
    assert entry.findtext(f"{ATOM}title") == "吾輩は猫である"
    assert entry.findtext(f"{ATOM}id").startswith("urn:isbn:978")
    assert entry.findtext(f"{DC}identifier") == entry.findtext(f"{ATOM}id")
    reading = entry.find(f"{DC}alternative")
    assert (reading.text, reading.get(XML_LANG)) == ("ワガハイ ハ ネコ デアル", "ja-Hrkt")
    author = entry.find(f"{ATOM}author")
    assert author.findtext(f"{ATOM}name") == "夏目漱石"
    assert author.find(f"{DC}alternative").text == "ナツメ ソウセキ"
    assert entry.find(f"{ATOM}contributor").findtext(f"{ATOM}name") == "挿絵太郎"
    assert entry.findtext(f"{DC}language") == "ja"
    assert entry.findtext(f"{DC}publisher") == "青空文庫"
    assert entry.findtext(f"{DC}issued") == "1905-01-01"
    summary = entry.find(f"{ATOM}summary")
    assert summary.get("type") == "text" and "<b>太字</b>" in summary.text  # plain text, never parsed as HTML
    assert {c.get("term") for c in entry.iter(f"{ATOM}category")} == {"913.6", "猫", "ユーモア"}
    images = {link.get("rel"): link for link in entry.iter(f"{ATOM}link") if "image" in link.get("rel")}
    assert set(images) == {"http://opds-spec.org/image", "http://opds-spec.org/image/thumbnail"}
    thumbnail = images["http://opds-spec.org/image/thumbnail"]
    assert thumbnail.get("type") == "image/jpeg"
    image = client.get(thumbnail.get("href").removeprefix("http://localhost"))
    assert image.status_code == 200 and image.mimetype == "image/jpeg"


def test_opds2_publication_metadata_and_readings(client, catalog):
    publication = client.get(f"/opds/v2/titles/{catalog.open}").json
    metadata = publication["metadata"]
    assert metadata["title"] == "吾輩は猫である"
    assert metadata["sortAs"] == "ワガハイ ハ ネコ デアル"
    assert metadata["author"] == [{"name": "夏目漱石", "sortAs": "ナツメ ソウセキ"}]
    assert metadata["illustrator"] == [{"name": "挿絵太郎", "sortAs": "サシエ タロウ"}]
    assert metadata["language"] == "ja" and metadata["published"] == "1905-01-01"
    assert metadata["altIdentifier"] == [metadata["identifier"]] and metadata["identifier"].startswith("urn:isbn:")
    assert [i["rel"] for i in publication["images"]] == ["http://opds-spec.org/image", "http://opds-spec.org/image/thumbnail"]
    pdf = client.get(f"/opds/v2/titles/{catalog.unlicensed}").json
    assert "images" not in pdf  # the SVG placeholder is not a bitmap: no image link
    assert pdf["metadata"]["identifier"].startswith("urn:elibrary:title:")


def test_withdrawn_titles_are_not_listed(client, catalog):
    titles = []
    for page in (1, 2, 3):
        titles += [p["metadata"]["title"] for p in client.get(f"/opds/v2/all?page={page}").json["publications"]]
    assert len(titles) == 6 and "除籍された本" not in titles


def test_paging_links_and_counts(client, catalog):
    first = client.get("/opds/v2/new").json
    assert first["metadata"] == {"title": "新着の本", "numberOfItems": 6, "itemsPerPage": 2, "currentPage": 1}
    rels = {link["rel"]: link["href"] for link in first["links"]}
    assert rels["next"].endswith("/opds/v2/new?page=2") and rels["last"].endswith("page=3") and "previous" not in rels
    middle = {link["rel"]: link["href"] for link in client.get("/opds/v2/new?page=2").json["links"]}
    assert middle["previous"].endswith("/opds/v2/new") and middle["next"].endswith("page=3")
    feed = etree.fromstring(client.get("/opds/v1/new?page=3").data)
    assert feed.findtext("{http://a9.com/-/spec/opensearch/1.1/}totalResults") == "6"
    assert feed.findtext("{http://a9.com/-/spec/opensearch/1.1/}itemsPerPage") == "2"
    rels = {link.get("rel") for link in feed.iter(f"{ATOM}link")}
    assert {"first", "previous", "last"} <= rels and "next" not in rels


def test_facets_mark_the_active_value(client, catalog):
    feed = client.get("/opds/v2/new?audience=children").json
    assert [p["metadata"]["title"] for p in feed["publications"]] == ["銀河鉄道の夜"]
    audience = next(g for g in feed["facets"] if g["metadata"]["title"] == "対象")
    active = [link for link in audience["links"] if link.get("rel") == "self"]
    assert [link["title"] for link in active] == ["児童書"]
    assert all(link["href"].split("?")[0].endswith("/opds/v2/new") for link in audience["links"])
    atom = etree.fromstring(client.get("/opds/v1/new?language=en").data)
    facets = [link for link in atom.iter(f"{ATOM}link") if link.get("rel") == "http://opds-spec.org/facet"]
    groups = {link.get(f"{OPDS}facetGroup") for link in facets}
    assert groups == {"対象", "形式", "言語", "貸出状況"}
    active = [(link.get(f"{OPDS}facetGroup"), link.get("title")) for link in facets if link.get(f"{OPDS}activeFacet") == "true"]
    assert ("言語", "英語") in active and ("対象", "すべて") in active
    english = next(link for link in facets if link.get("title") == "英語")
    assert english.get("{http://purl.org/syndication/thread/1.0}count") == "1"


def test_availability_facet(client, catalog):
    client.post(f"/opds/v2/titles/{catalog.one_copy}/borrow", headers=basic())
    available = client.get("/opds/v2/all?availability=available").json
    titles = {p["metadata"]["title"] for p in available["publications"]}
    assert "こころ" not in titles and "図書館の自由に関する宣言" not in titles
    assert available["metadata"]["numberOfItems"] == 4


def test_japanese_search(client, catalog):
    for query in ("夏目漱石", "なつめ", "ネコ"):
        feed = client.get("/opds/v2/search", query_string={"query": query}).json
        assert feed["metadata"]["numberOfItems"] >= 1, query
    found = client.get("/opds/v1/search", query_string={"q": "銀河"}).data
    assert "銀河鉄道の夜" in found.decode()


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/opds/v2/new?audience=adults", 400, "invalid-facet"),
        ("/opds/v1/new?format=mobi", 400, "invalid-facet"),
        ("/opds/v2/new?availability=soon", 400, "invalid-facet"),
        ("/opds/v2/new?page=-1", 400, "invalid-page"),
        ("/opds/v2/new?page=0", 400, "invalid-page"),
        ("/opds/v2/new?page=abc", 400, "invalid-page"),
        ("/opds/v2/new?page=１", 400, "invalid-page"),
        ("/opds/v2/new?page=99999999999999999999", 400, "invalid-page"),
        ("/opds/v2/new?page=4", 404, "page-not-found"),
        ("/opds/v1/search?q=夏目&page=9", 404, "page-not-found"),
        ("/opds/v2/search?query=", 400, "invalid-search"),
        ("/opds/v2/search", 400, "invalid-search"),
        ("/opds/v2/ndc/x", 404, "not-found"),
        ("/opds/v2/shelves/nope", 404, "not-found"),
        ("/opds/v2/nav/nope", 404, "not-found"),
        ("/opds/v3/", 404, "http-404"),
        ("/opds/v2/titles/1/borrow", 405, "http-405"),
    ],
)
def test_bad_input_is_a_problem_never_a_500(client, catalog, path, status, code):
    response = client.get(path)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.json["type"].endswith(code)
    assert response.json["title_ja"] != response.json["title_en"]


def test_anonymous_feeds_are_cached_briefly_and_shared_with_patrons_who_have_none_of_their_titles(app, client, rt, catalog):
    from elibrary.catalog.models import Title

    app.extensions["elibrary"].opds.pages.seconds = 60
    before = client.get("/opds/v2/new").json
    with rt.db.scope() as session:
        session.get(Title, catalog.english).title = "坊っちゃん"
    assert client.get("/opds/v2/new").json == before  # the same bytes for a minute
    assert client.get("/opds/v2/new", headers=basic()).json == before  # a patron with no loans or holds: the same page
    entry = f"/opds/v2/titles/{catalog.one_copy}"
    kept = client.get(entry, headers=basic()).json
    with rt.db.scope() as session:
        session.get(Title, catalog.one_copy).title = "心"
    assert client.get(entry).json == kept
    assert client.post(f"{entry}/borrow", headers=basic()).status_code == 201
    assert client.get(entry, headers=basic()).json["metadata"]["title"] == "心"  # their loan is on the page: rendered for them
    negotiated = client.get("/opds/", headers={"Accept": "application/opds+json"})
    assert negotiated.headers["Content-Type"] == "application/opds+json"
    assert client.get("/opds/", headers={"Accept": "application/atom+xml"}).headers["Content-Type"].startswith("application/atom+xml")
