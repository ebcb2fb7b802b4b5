"""OPDS 1.2 (Atom) rendering with lxml: navigation and acquisition feeds, entries, OpenSearch description.

Readings (ヨミ) are given as ``<dcterms:alternative xml:lang="ja-Hrkt">`` in the entry (title) and in
each ``atom:author``/``atom:contributor`` (name). Lending state follows "OPDS For Library Patrons":
``opds:availability`` (attribute ``status``, as Palace emits and reads), ``opds:holds``, ``opds:copies``
inside the acquisition link.
"""
from __future__ import annotations

from lxml import etree

from elibrary.catalog.models import Title
from elibrary.opds import entries
from elibrary.opds.circulation import Circulation
from elibrary.opds.feeds import AcquisitionPage, NavigationFeed
from elibrary.opds.negotiation import ACQUISITION_V1, ATOM, AUTH_DOCUMENT, ENTRY_V1, NAVIGATION_V1, OPDS_NS, OPENSEARCH
from elibrary.opds.urls import Urls

DCTERMS = "http://purl.org/dc/terms/"
OPENSEARCH_NS = "http://a9.com/-/spec/opensearch/1.1/"
THR = "http://purl.org/syndication/thread/1.0"
OPF = "http://www.idpf.org/2007/opf"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NSMAP = {None: ATOM, "opds": OPDS_NS, "dcterms": DCTERMS, "opensearch": OPENSEARCH_NS, "thr": THR, "opf": OPF}
ACQ = "http://opds-spec.org/acquisition"
REVOKE = "http://librarysimplified.org/terms/rel/revoke"

_A = "{%s}" % ATOM
_O = "{%s}" % OPDS_NS
_D = "{%s}" % DCTERMS


def _sub(parent, tag: str, text: str | None = None, **attrs) -> etree._Element:
    element = etree.SubElement(parent, tag, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        element.text = text
    return element


def _link(parent, rel: str, href: str, type_: str | None = None, title: str | None = None, **extra) -> etree._Element:
    attrs = {"rel": rel, "href": href}
    if type_:
        attrs["type"] = type_
    if title:
        attrs["title"] = title
    attrs.update({k: v for k, v in extra.items() if v is not None})
    return etree.SubElement(parent, _A + "link", attrs)


def _feed(feed_id: str, title: str, self_href: str, self_type: str, urls: Urls, locale: str, updated: str) -> etree._Element:
    feed = etree.Element(_A + "feed", nsmap=NSMAP)
    _sub(feed, _A + "id", feed_id)
    _sub(feed, _A + "title", title)
    _sub(feed, _A + "updated", updated)
    author = _sub(feed, _A + "author")
    _sub(author, _A + "name", "電子図書館" if locale != "en" else "e-Library")
    _sub(author, _A + "uri", urls.base + "/")
    _link(feed, "self", self_href, self_type)
    _link(feed, "start", urls.root, NAVIGATION_V1, "電子図書館" if locale != "en" else "e-Library")
    _link(feed, "search", urls.opensearch(), OPENSEARCH, "検索" if locale != "en" else "Search")
    _link(feed, "http://opds-spec.org/auth/document", urls.auth_document(), AUTH_DOCUMENT)
    _link(feed, "http://opds-spec.org/shelf", urls.shelf(), ACQUISITION_V1, "借りている本・予約" if locale != "en" else "Loans and holds")
    return feed


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def navigation_feed(nav: NavigationFeed, urls: Urls, locale: str, updated: str) -> bytes:
    """A navigation feed: one entry per sub-feed, no acquisition entries (OPDS 1.2 §2.2)."""
    self_href = urls.feed(nav.path) if nav.path else urls.root
    feed = _feed(self_href, nav.title(locale), self_href, NAVIGATION_V1, urls, locale, updated)
    if nav.path:
        _link(feed, "up", urls.root, NAVIGATION_V1)
    for item in nav.items:
        href = urls.feed(item.path)
        entry = _sub(feed, _A + "entry")
        _sub(entry, _A + "title", item.title(locale))
        _sub(entry, _A + "id", href)
        _sub(entry, _A + "updated", updated)
        _sub(entry, _A + "content", (item.summary or item.title)(locale), type="text")
        _link(entry, item.rel, href, ACQUISITION_V1 if item.acquisition else NAVIGATION_V1)
    return _serialize(feed)


def acquisition_feed(page: AcquisitionPage, urls: Urls, locale: str, updated: str) -> bytes:
    """A page of an acquisition feed with RFC 5005 paging, OpenSearch counts and facets (OPDS 1.2 §4)."""
    self_href = urls.feed(page.path, page.params(page.page))
    feed = _feed(urls.feed(page.path, page.params(page.page)), page.title(locale), self_href, ACQUISITION_V1, urls, locale, updated)
    _link(feed, "up", urls.root, NAVIGATION_V1)
    _paging_links(feed, page, urls)
    _sub(feed, "{%s}totalResults" % OPENSEARCH_NS, str(page.total))
    _sub(feed, "{%s}itemsPerPage" % OPENSEARCH_NS, str(page.per_page))
    _sub(feed, "{%s}startIndex" % OPENSEARCH_NS, str((page.page - 1) * page.per_page + 1))
    if page.query is not None:
        _sub(feed, "{%s}Query" % OPENSEARCH_NS, role="request", searchTerms=page.query)
    for facet in page.facets:
        link = _link(
            feed,
            "http://opds-spec.org/facet",
            urls.feed(page.path, page.params(None, **facet.params)),
            ACQUISITION_V1,
            facet.title(locale),
        )
        link.set(_O + "facetGroup", facet.group_title(locale))
        if facet.active:
            link.set(_O + "activeFacet", "true")
        if facet.count is not None:
            link.set("{%s}count" % THR, str(facet.count))
    for title in page.titles:
        feed.append(entry_element(title, page.circulation.get(title.id, Circulation()), urls, locale))
    return _serialize(feed)


def _paging_links(feed, page: AcquisitionPage, urls: Urls) -> None:
    _link(feed, "first", urls.feed(page.path, page.params(1)), ACQUISITION_V1)
    if page.page > 1:
        _link(feed, "previous", urls.feed(page.path, page.params(page.page - 1)), ACQUISITION_V1)
    if page.page < page.last_page:
        _link(feed, "next", urls.feed(page.path, page.params(page.page + 1)), ACQUISITION_V1)
    _link(feed, "last", urls.feed(page.path, page.params(page.last_page)), ACQUISITION_V1)


def shelf_feed(titles: list[Title], circulations: dict[int, Circulation], urls: Urls, locale: str, updated: str) -> bytes:
    """The patron's loans and holds (``http://opds-spec.org/shelf``); may be empty."""
    title = "借りている本・予約" if locale != "en" else "Loans and holds"
    feed = _feed(urls.shelf(), title, urls.shelf(), ACQUISITION_V1, urls, locale, updated)
    _link(feed, "up", urls.root, NAVIGATION_V1)
    for book in titles:
        feed.append(entry_element(book, circulations.get(book.id, Circulation()), urls, locale))
    return _serialize(feed)


def entry_document(title: Title, circulation: Circulation, urls: Urls, locale: str) -> bytes:
    """A complete catalog entry (``application/atom+xml;type=entry;profile=opds-catalog``)."""
    entry = entry_element(title, circulation, urls, locale, standalone=True)
    return _serialize(entry)


def entry_element(title: Title, circ: Circulation, urls: Urls, locale: str, standalone: bool = False) -> etree._Element:
    """One title as an Atom entry with its acquisition links."""
    entry = etree.Element(_A + "entry", nsmap=NSMAP) if standalone else etree.Element(_A + "entry")
    _sub(entry, _A + "title", entries.full_title(title))
    _sub(entry, _A + "id", entries.identifier(title))
    _sub(entry, _A + "updated", entries.rfc3339(title.updated_at))
    for credit in title.contributors:
        tag = "author" if credit.role == "aut" else "contributor"
        person = _sub(entry, _A + tag, **{"{%s}role" % OPF: credit.role})
        _sub(person, _A + "name", credit.contributor.name)
        if credit.contributor.name_reading:
            _sub(person, _D + "alternative", credit.contributor.name_reading, **{XML_LANG: entries.READING_LANG})
    if title.title_reading:
        _sub(entry, _D + "alternative", title.title_reading, **{XML_LANG: entries.READING_LANG})
    _sub(entry, _D + "language", title.language or "ja")
    if title.publisher:
        _sub(entry, _D + "publisher", title.publisher)
    if title.published_on:
        _sub(entry, _D + "issued", entries.issued(title.published_on))
    if title.isbn:
        _sub(entry, _D + "identifier", f"urn:isbn:{title.isbn}")
    if title.ndc:
        _sub(entry, _A + "category", scheme=entries.NDC_SCHEME, term=title.ndc, label=f"NDC {title.ndc}")
    for subject in title.subjects:
        scheme = entries.SUBJECT_SCHEMES.get(subject.scheme, f"urn:elibrary:subject:{subject.scheme}")
        _sub(entry, _A + "category", scheme=scheme, term=subject.term, label=subject.term)
    if title.description:
        _sub(entry, _A + "summary", title.description, type="text")
    for rel, size, version, media_type in entries.cover_links(title):
        _link(entry, rel, urls.cover(title.id, size, version), media_type)
    _link(entry, "alternate", urls.title(title.id), ENTRY_V1)
    _acquisition_links(entry, title, circ, urls, locale)
    return entry


def _acquisition_links(entry, title: Title, circ: Circulation, urls: Urls, locale: str) -> None:
    book_type = entries.book_type(title)
    if circ.open_access:
        _link(entry, ACQ + "/open-access", urls.fulfil(title.id), book_type)
        return
    if circ.loan is not None and not circ.downloadable:  # no file for an app: the entry says so, the web page is linked
        note = entries.browser_only_note(locale)
        _sub(entry, _A + "content", note, type="text")
        link = _link(entry, "alternate", *entries.loan_target(title, False, urls), note)
        _lending_state(link, circ)
        _link(entry, REVOKE, urls.revoke(title.id))
        return
    if circ.loan is not None:
        link = _link(entry, ACQ, *entries.loan_target(title, circ.downloadable, urls))
        _lending_state(link, circ)
        _link(entry, REVOKE, urls.revoke(title.id))
        return
    link = _link(entry, ACQ + "/borrow", urls.borrow(title.id), ENTRY_V1)
    etree.SubElement(link, _O + "indirectAcquisition", {"type": book_type})
    _lending_state(link, circ)
    if circ.hold is not None:
        _link(entry, REVOKE, urls.revoke(title.id))


def _lending_state(link, circ: Circulation) -> None:
    availability = etree.SubElement(link, _O + "availability", {"status": circ.state})
    if circ.since is not None:
        availability.set("since", entries.rfc3339(circ.since))
    if circ.until is not None:
        availability.set("until", entries.rfc3339(circ.until))
    holds = etree.SubElement(link, _O + "holds", {"total": str(circ.holds_total)})
    if circ.position is not None:
        holds.set("position", str(circ.position))
    etree.SubElement(link, _O + "copies", {"total": str(circ.copies_total), "available": str(circ.copies_available)})


def opensearch_description(urls: Urls, locale: str) -> bytes:
    """The OpenSearch description the OPDS 1 ``search`` link points to (OPDS 1.2 §3)."""
    root = etree.Element("{%s}OpenSearchDescription" % OPENSEARCH_NS, nsmap={None: OPENSEARCH_NS})
    _sub(root, "{%s}ShortName" % OPENSEARCH_NS, "電子図書館" if locale != "en" else "e-Library")
    _sub(root, "{%s}Description" % OPENSEARCH_NS, "蔵書を検索します" if locale != "en" else "Search the catalog")
    _sub(root, "{%s}InputEncoding" % OPENSEARCH_NS, "UTF-8")
    _sub(root, "{%s}OutputEncoding" % OPENSEARCH_NS, "UTF-8")
    _sub(root, "{%s}Language" % OPENSEARCH_NS, "ja")
    _sub(root, "{%s}Url" % OPENSEARCH_NS, type=ACQUISITION_V1, template=urls.search_template())
    return _serialize(root)

