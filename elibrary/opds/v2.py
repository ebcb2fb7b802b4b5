"""OPDS 2.0 (JSON) rendering: navigation and publication feeds, publications, the shelf.

Readings (ヨミ) are ``metadata.sortAs`` of the publication (title reading) and ``sortAs`` of each
contributor object (name reading), in katakana as catalogued. Lending state follows the borrowing best
practices: link ``properties`` ``availability.state``, ``holds``, ``copies``, ``indirectAcquisition``
and ``authenticate``. An empty page (no publications) carries a one-link ``navigation`` back to the
catalog root, because the schema gives ``publications`` ``minItems: 1``.

``metadata.description`` is read as HTML by reading apps (Readium, Thorium, Palace), while we store
descriptions as plain text: it is written HTML-escaped, so a description can never become markup.
"""
from __future__ import annotations

from html import escape

from elibrary.catalog.models import Title
from elibrary.opds import entries
from elibrary.opds.circulation import Circulation
from elibrary.opds.feeds import AcquisitionPage, NavigationFeed
from elibrary.opds.negotiation import AUTH_DOCUMENT, FEED_V2, PUBLICATION_V2
from elibrary.opds.urls import Urls

ACQ = "http://opds-spec.org/acquisition"
REVOKE = "http://librarysimplified.org/terms/rel/revoke"
ROLE_KEYS = {"aut": "author", "trl": "translator", "ill": "illustrator", "edt": "editor", "nrt": "narrator"}


def _lang(locale: str, ja: str, en: str) -> str:
    return en if locale == "en" else ja


def _feed_links(urls: Urls, self_href: str, locale: str) -> list[dict]:
    return [
        {"rel": "self", "href": self_href, "type": FEED_V2},
        {"rel": "start", "href": urls.root, "type": FEED_V2, "title": _lang(locale, "電子図書館", "e-Library")},
        {"rel": "search", "href": urls.search_template(), "type": FEED_V2, "templated": True},
        {"rel": "http://opds-spec.org/auth/document", "href": urls.auth_document(), "type": AUTH_DOCUMENT},
        {
            "rel": "http://opds-spec.org/shelf",
            "href": urls.shelf(),
            "type": FEED_V2,
            "title": _lang(locale, "借りている本・予約", "Loans and holds"),
            "properties": {"authenticate": urls.auth_document()},
        },
    ]


def _back_to_catalog(urls: Urls, locale: str) -> list[dict]:
    return [{"href": urls.root, "title": _lang(locale, "カタログのトップへ", "Back to the catalog"), "type": FEED_V2}]


def navigation_feed(nav: NavigationFeed, urls: Urls, locale: str) -> dict:
    """A feed whose ``navigation`` links to the sub-feeds."""
    self_href = urls.feed(nav.path) if nav.path else urls.root
    navigation = [
        {"href": urls.feed(item.path), "title": item.title(locale), "type": FEED_V2, "rel": item.rel}
        for item in nav.items
    ]
    links = _feed_links(urls, self_href, locale)
    if nav.path:
        links.append({"rel": "up", "href": urls.root, "type": FEED_V2})
    return {"metadata": {"title": nav.title(locale)}, "links": links, "navigation": navigation or _back_to_catalog(urls, locale)}


def acquisition_feed(page: AcquisitionPage, urls: Urls, locale: str) -> dict:
    """A page of publications with paging links and facets (OPDS 2.0 §2.4, §4)."""
    self_href = urls.feed(page.path, page.params(page.page))
    links = _feed_links(urls, self_href, locale)
    links.append({"rel": "up", "href": urls.root, "type": FEED_V2})
    links.append({"rel": "first", "href": urls.feed(page.path, page.params(1)), "type": FEED_V2})
    if page.page > 1:
        links.append({"rel": "previous", "href": urls.feed(page.path, page.params(page.page - 1)), "type": FEED_V2})
    if page.page < page.last_page:
        links.append({"rel": "next", "href": urls.feed(page.path, page.params(page.page + 1)), "type": FEED_V2})
    links.append({"rel": "last", "href": urls.feed(page.path, page.params(page.last_page)), "type": FEED_V2})
    feed = {
        "metadata": {
            "title": page.title(locale),
            "numberOfItems": page.total,
            "itemsPerPage": page.per_page,
            "currentPage": page.page,
        },
        "links": links,
    }
    facets = _facets(page, urls, locale)
    if facets:
        feed["facets"] = facets
    publications = [publication(t, page.circulation.get(t.id, Circulation()), urls, locale) for t in page.titles]
    if publications:
        feed["publications"] = publications
    else:
        feed["navigation"] = _back_to_catalog(urls, locale)
    return feed


def _facets(page: AcquisitionPage, urls: Urls, locale: str) -> list[dict]:
    groups: dict[str, dict] = {}
    for facet in page.facets:
        group = groups.setdefault(facet.group, {"metadata": {"title": facet.group_title(locale)}, "links": []})
        link = {"href": urls.feed(page.path, page.params(None, **facet.params)), "type": FEED_V2, "title": facet.title(locale)}
        if facet.active:
            link["rel"] = "self"
        if facet.count is not None:
            link["properties"] = {"numberOfItems": facet.count}
        group["links"].append(link)
    return list(groups.values())


def shelf_feed(titles: list[Title], circulations: dict[int, Circulation], urls: Urls, locale: str) -> dict:
    """The patron's loans and holds; an empty shelf is a feed with a link back to the catalog."""
    feed = {
        "metadata": {"title": _lang(locale, "借りている本・予約", "Loans and holds"), "numberOfItems": len(titles)},
        "links": _feed_links(urls, urls.shelf(), locale) + [{"rel": "up", "href": urls.root, "type": FEED_V2}],
    }
    if titles:
        feed["publications"] = [publication(t, circulations.get(t.id, Circulation()), urls, locale) for t in titles]
    else:
        feed["navigation"] = _back_to_catalog(urls, locale)
    return feed


def publication(title: Title, circ: Circulation, urls: Urls, locale: str) -> dict:
    """One title as an OPDS 2 publication."""
    metadata: dict = {
        "@type": "http://schema.org/Book",
        "identifier": entries.identifier(title),
        "title": entries.full_title(title),
        "language": title.language or "ja",
        "modified": entries.rfc3339(title.updated_at),
    }
    if title.title_reading:
        metadata["sortAs"] = title.title_reading
    for credit in title.contributors:
        person = {"name": credit.contributor.name}
        if credit.contributor.name_reading:
            person["sortAs"] = credit.contributor.name_reading
        key = ROLE_KEYS.get(credit.role)
        if key is None:
            key = "contributor"
            person["role"] = credit.role
        metadata.setdefault(key, []).append(person)
    if title.publisher:
        metadata["publisher"] = title.publisher
    if title.published_on:
        metadata["published"] = entries.issued(title.published_on)
    if title.description:
        metadata["description"] = escape(title.description, quote=False)  # plain text, shown as HTML by clients
    subjects = [{"name": s.term, "scheme": entries.SUBJECT_SCHEMES.get(s.scheme, f"urn:elibrary:subject:{s.scheme}")} for s in title.subjects]
    if title.ndc:
        subjects.insert(0, {"name": f"NDC {title.ndc}", "code": title.ndc, "scheme": entries.NDC_SCHEME})
    if subjects:
        metadata["subject"] = subjects
    if title.isbn:
        metadata["altIdentifier"] = [f"urn:isbn:{title.isbn}"]
    if circ.loan is not None and not circ.downloadable:  # said in the entry, where an app shows it
        note = escape(entries.browser_only_note(locale), quote=False)
        metadata["description"] = note + ("\n\n" + metadata["description"] if "description" in metadata else "")
    pub = {
        "metadata": metadata,
        "links": [{"rel": "self", "href": urls.title(title.id), "type": PUBLICATION_V2}, *_acquisition_links(title, circ, urls, locale)],
    }
    images = [{"href": urls.cover(title.id, size, version), "type": media_type, "rel": rel} for rel, size, version, media_type in entries.cover_links(title)]
    if images:
        pub["images"] = images
    return pub


def _acquisition_links(title: Title, circ: Circulation, urls: Urls, locale: str) -> list[dict]:
    book_type = entries.book_type(title)
    if circ.open_access:
        return [{"rel": ACQ + "/open-access", "href": urls.fulfil(title.id), "type": book_type}]
    state = _lending_properties(circ)
    if circ.loan is not None:
        href, type_ = entries.loan_target(title, circ.downloadable, urls)
        revoke = {"rel": REVOKE, "href": urls.revoke(title.id), "type": PUBLICATION_V2}
        if circ.downloadable:
            return [{"rel": ACQ, "href": href, "type": type_, "properties": state}, revoke]
        note = entries.browser_only_note(locale)
        return [{"rel": "alternate", "href": href, "type": type_, "title": note, "properties": state}, revoke]
    borrow = {
        "rel": ACQ + "/borrow",
        "href": urls.borrow(title.id),
        "type": PUBLICATION_V2,
        "properties": {**state, "indirectAcquisition": [{"type": book_type}], "authenticate": urls.auth_document()},
    }
    links = [borrow]
    if circ.hold is not None:
        links.append({"rel": REVOKE, "href": urls.revoke(title.id), "type": PUBLICATION_V2})
    return links


def _lending_properties(circ: Circulation) -> dict:
    availability = {"state": circ.state}
    if circ.since is not None:
        availability["since"] = entries.rfc3339(circ.since)
    if circ.until is not None:
        availability["until"] = entries.rfc3339(circ.until)
    holds: dict = {"total": circ.holds_total}
    if circ.position is not None:
        holds["position"] = circ.position
    return {"availability": availability, "holds": holds, "copies": {"total": circ.copies_total, "available": circ.copies_available}}
