"""Hardened XML parsing for feeds from outside: no entities, no network, no huge trees, streamed.

Feeds are parsed with lxml's ``iterparse`` with entity resolution, DTD loading and network access
off and libxml2's size limits on; a document that *declares* entities (the only use of an internal
DTD subset in a bibliographic feed is an attack: XXE or an expansion bomb) is refused outright.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO

from lxml import etree


class UnsafeXML(ValueError):
    """The document declares entities or a DTD subset we refuse to process."""


def is_entity_attack(exc: etree.XMLSyntaxError) -> bool:
    """True when libxml2 itself stopped an entity expansion (2.13 and newer do, before the DTD is seen)."""
    message = (exc.msg or "").lower()
    return "amplification" in message or "entity reference loop" in message


def hardened_iterparse(stream: BinaryIO, tags: Iterable[str], events=("start", "end")):
    """An ``iterparse`` over ``stream`` limited to ``tags``, with every dangerous feature off.

    An expansion bomb raises ``UnsafeXML`` whichever of libxml2 or ``refuse_entity_declarations`` stops it.
    """
    return _refusing_entity_attacks(etree.iterparse(
        stream,
        events=events,
        tag=tuple(tags),
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    ))


def _refusing_entity_attacks(events):
    try:
        yield from events
    except etree.XMLSyntaxError as exc:
        if is_entity_attack(exc):
            raise UnsafeXML("the document's entities expand too far") from exc
        raise


def hardened_parser() -> etree.XMLParser:
    """A whole-document parser with the same settings (small documents: an OPF, one MARCXML record)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )


def refuse_entity_declarations(element) -> None:
    """Raise ``UnsafeXML`` if the document of ``element`` declares entities in an internal DTD subset."""
    dtd = element.getroottree().docinfo.internalDTD
    if dtd is not None and (list(dtd.iterentities()) or list(dtd.iterelements())):
        raise UnsafeXML("the document declares entities (DTD internal subset)")


def clear_seen(element) -> None:
    """Free a processed element and the siblings before it, keeping memory flat while streaming."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def local_name(tag) -> str:
    """The tag without its namespace (``""`` for comments and processing instructions)."""
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]
