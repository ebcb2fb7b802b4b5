"""Tables of contents: the EPUB 3 navigation document (``nav epub:type="toc"``) or the EPUB 2 NCX."""
from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from elibrary.books.archive import resolve_href
from elibrary.books.xml import NS, parse_xml, text_of

EPUB_TYPE = f"{{{NS['epub']}}}type"


@dataclass
class TocEntry:
    """One heading: its label and target (entry path plus ``#fragment``), with sub-headings."""

    label: str
    href: str
    children: list[TocEntry] = field(default_factory=list)

    def as_dict(self) -> dict:
        """A JSON-ready form (for the reader's table of contents)."""
        return {"label": self.label, "href": self.href, "children": [c.as_dict() for c in self.children]}


def _target(base: str, href: str) -> str:
    if not href:
        return ""
    try:
        path = resolve_href(base, href)
    except UnicodeDecodeError:
        return ""
    if path is None:
        return ""
    fragment = href.partition("#")[2]
    return f"{path}#{fragment}" if fragment else path


def read_toc(data: bytes, path: str, kind: str) -> list[TocEntry]:
    """Parse a nav document (``kind="nav"``) or an NCX (``kind="ncx"``) into entries."""
    root = parse_xml(data, "目次 (nav/NCX)")
    if kind == "ncx":
        nav_map = root.find("ncx:navMap", NS)
        return [_ncx_point(p, path) for p in nav_map.findall("ncx:navPoint", NS)] if nav_map is not None else []
    for nav in root.iter(f"{{{NS['xhtml']}}}nav"):
        if "toc" in nav.get(EPUB_TYPE, "").split():
            ol = nav.find("xhtml:ol", NS)
            return _nav_list(ol, path) if ol is not None else []
    return []


def _nav_list(ol: Element, base: str) -> list[TocEntry]:
    entries = []
    for li in ol.findall("xhtml:li", NS):
        link = li.find("xhtml:a", NS)
        if link is None:
            link = li.find("xhtml:span", NS)
        label = text_of(link) if link is not None else ""
        href = _target(base, link.get("href", "")) if link is not None else ""
        sub = li.find("xhtml:ol", NS)
        entries.append(TocEntry(label, href, _nav_list(sub, base) if sub is not None else []))
    return entries


def _ncx_point(point: Element, base: str) -> TocEntry:
    label = text_of(point.find("ncx:navLabel/ncx:text", NS))
    content = point.find("ncx:content", NS)
    href = _target(base, content.get("src", "")) if content is not None else ""
    return TocEntry(label, href, [_ncx_point(p, base) for p in point.findall("ncx:navPoint", NS)])
