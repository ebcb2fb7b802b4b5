"""A small OPDS reading client, as a reading app would have: parse feeds, find links by rel, follow them.

Used by the client-walk test; also parses the Palace sample feeds (OPDS 1 and 2) to show it reads
feeds it did not produce.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from lxml import etree

ATOM = "{http://www.w3.org/2005/Atom}"
OPDS = "{http://opds-spec.org/2010/catalog}"


@dataclass
class Link:
    """A link with the attributes clients act on."""

    href: str
    rel: str = ""
    type: str = ""
    title: str = ""
    properties: dict = field(default_factory=dict)
    templated: bool = False


@dataclass
class Publication:
    """Title, identifier and links of one book."""

    title: str
    identifier: str
    links: list[Link]

    def link(self, rel: str) -> Link | None:
        """The first link with ``rel``."""
        return next((link for link in self.links if link.rel == rel), None)


@dataclass
class Feed:
    """A parsed OPDS 1 or 2 feed."""

    title: str
    links: list[Link]
    navigation: list[Link] = field(default_factory=list)
    publications: list[Publication] = field(default_factory=list)
    facets: dict[str, list[Link]] = field(default_factory=dict)

    def link(self, rel: str) -> Link | None:
        """The first feed-level link with ``rel``."""
        return next((link for link in self.links if link.rel == rel or (isinstance(link.rel, list) and rel in link.rel)), None)


def _link2(data: dict) -> Link:
    return Link(data["href"], data.get("rel", ""), data.get("type", ""), data.get("title", ""), data.get("properties", {}), data.get("templated", False))


def parse_publication2(data: dict) -> Publication:
    """An OPDS 2 publication."""
    title = data["metadata"].get("title", "")
    if isinstance(title, dict):  # a language map
        title = next(iter(title.values()), "")
    return Publication(title, data["metadata"].get("identifier", ""), [_link2(link) for link in data.get("links", [])])


def parse_feed2(body: bytes | str) -> Feed:
    """An OPDS 2 feed (``groups`` are flattened into navigation and publications)."""
    data = json.loads(body)
    feed = Feed(data["metadata"]["title"], [_link2(link) for link in data.get("links", [])])
    sections = [data, *data.get("groups", [])]
    for section in sections:
        feed.navigation += [_link2(link) for link in section.get("navigation", [])]
        feed.publications += [parse_publication2(p) for p in section.get("publications", [])]
    for group in data.get("facets", []):
        feed.facets[group["metadata"]["title"]] = [_link2(link) for link in group["links"]]
    return feed


def _link1(element) -> Link:
    properties = {}
    availability = element.find(f"{OPDS}availability")
    if availability is not None:
        properties["availability"] = {"state": availability.get("status") or availability.get("state")}
    holds = element.find(f"{OPDS}holds")
    if holds is not None:
        properties["holds"] = {k: int(v) for k, v in holds.attrib.items() if v.isdigit()}
    return Link(element.get("href", ""), element.get("rel", "alternate"), element.get("type", ""), element.get("title", ""), properties)


def parse_entry1(entry) -> Publication:
    """An Atom entry."""
    return Publication(entry.findtext(f"{ATOM}title", ""), entry.findtext(f"{ATOM}id", ""), [_link1(link) for link in entry.findall(f"{ATOM}link")])


def parse_feed1(body: bytes) -> Feed:
    """An OPDS 1 feed: entries with acquisition links are publications, the others navigation."""
    root = etree.fromstring(body)
    feed = Feed(root.findtext(f"{ATOM}title", ""), [])
    for element in root.findall(f"{ATOM}link"):
        link = _link1(element)
        if link.rel == "http://opds-spec.org/facet":
            feed.facets.setdefault(element.get(f"{OPDS}facetGroup", ""), []).append(link)
        else:
            feed.links.append(link)
    for entry in root.findall(f"{ATOM}entry"):
        publication = parse_entry1(entry)
        if any(link.rel.startswith("http://opds-spec.org/acquisition") for link in publication.links):
            feed.publications.append(publication)
        else:
            feed.navigation += [Link(link.href, link.rel, link.type, publication.title) for link in publication.links]
    return feed
