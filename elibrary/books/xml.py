"""Hardened XML parsing for book documents: no entity declarations, no external references, no network."""
from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_tree
from defusedxml import DefusedXmlException

from elibrary.books.errors import BrokenContainer

NS = {
    "container": "urn:oasis:names:tc:opendocument:xmlns:container",
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xhtml": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
    "enc": "urn:oasis:names:tc:opendocument:xmlns:encryption",
    "xenc": "http://www.w3.org/2001/04/xmlenc#",
    "smil": "http://www.w3.org/ns/SMIL",
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def parse_xml(data: bytes, what: str) -> Element:
    """Parse ``data``; a DOCTYPE is allowed (EPUB 2 NCX has one) but entity declarations are refused."""
    try:
        return safe_tree.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise BrokenContainer(
            f"EPUB内の {what} を読み込めません（XMLとして正しくないか、安全でない宣言を含みます）。",
            f"The EPUB's {what} cannot be read (malformed XML or unsafe declarations).",
            detail_reason=str(exc)[:200],
        ) from exc


def text_of(element: Element | None) -> str:
    """All text inside ``element``, whitespace collapsed."""
    if element is None:
        return ""
    return " ".join("".join(element.itertext()).split())
