"""OPDS media types and ``Accept`` negotiation between OPDS 1.2 (Atom) and OPDS 2.0 (JSON).

Clients disagree about how they ask: KOReader sends
``application/opds+json, application/atom+xml;profile=opds-catalog, */*`` and expects OPDS 2 because it
lists it first; browsers send ``*/*`` with a lower quality. The rule here: the highest quality wins, then
the range the client listed first, then OPDS 1 (the version every client reads). Malformed ranges are
skipped, never an error; a header that accepts neither version gets ``None`` (the caller answers 406).
"""
from __future__ import annotations

from dataclasses import dataclass

ATOM = "http://www.w3.org/2005/Atom"
OPDS_NS = "http://opds-spec.org/2010/catalog"

NAVIGATION_V1 = "application/atom+xml;profile=opds-catalog;kind=navigation"
ACQUISITION_V1 = "application/atom+xml;profile=opds-catalog;kind=acquisition"
ENTRY_V1 = "application/atom+xml;type=entry;profile=opds-catalog"
OPENSEARCH = "application/opensearchdescription+xml"
FEED_V2 = "application/opds+json"
PUBLICATION_V2 = "application/opds-publication+json"
AUTH_DOCUMENT = "application/opds-authentication+json"
# Palace's older name for the same document; accepted when a client asks for it by name.
AUTH_DOCUMENT_PALACE = "application/vnd.opds.authentication.v1.0+json"

# What each version may be asked for as, most specific first.
_V2_TYPES = (("application", "opds+json"), ("application", "json"))
_V1_TYPES = (("application", "atom+xml"), ("application", "xml"), ("text", "xml"))


@dataclass(frozen=True)
class MediaRange:
    """One range of an ``Accept`` header."""

    type: str
    subtype: str
    quality: float
    position: int

    def matches(self, type_: str, subtype: str) -> int:
        """How specifically this range matches (3 exact, 2 ``type/*``, 1 ``*/*``, 0 not at all)."""
        if self.type == type_ and self.subtype == subtype:
            return 3
        if self.type == type_ and self.subtype == "*":
            return 2
        if self.type == "*" and self.subtype == "*":
            return 1
        return 0


def parse_accept(header: str | None) -> list[MediaRange]:
    """The well-formed media ranges of ``header``, in the client's order; malformed ones are dropped."""
    ranges: list[MediaRange] = []
    for position, item in enumerate((header or "")[:2000].split(",")):
        media, *params = item.split(";")
        type_, slash, subtype = media.strip().lower().partition("/")
        if not slash or not _is_token(type_) or not _is_token(subtype) or (type_ == "*" and subtype != "*"):
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = -1.0
        if 0.0 <= quality <= 1.0:
            ranges.append(MediaRange(type_, subtype, quality, position))
    return ranges


def _is_token(text: str) -> bool:
    return bool(text) and all(c.isalnum() or c in "!#$&^_.+-*" for c in text) and text.isascii()


def preferred_version(header: str | None) -> int | None:
    """1 or 2 for the OPDS version the client prefers; None when it accepts neither.

    No header, an empty one, or one where nothing parses means "anything" (RFC 9110 §12.5.1).
    """
    ranges = parse_accept(header)
    if not ranges:
        return 1
    best: tuple | None = None
    for version, types in ((1, _V1_TYPES), (2, _V2_TYPES)):
        score = _score(ranges, types)
        if score is None:
            continue
        quality, specificity, position = score
        # Higher quality, then the client's earlier range, then the more specific match; OPDS 1 on a full tie.
        key = (quality, -position, specificity, -version)
        if best is None or key > best[0]:
            best = (key, version)
    return best[1] if best else None


def _score(ranges: list[MediaRange], types) -> tuple[float, int, int] | None:
    found: tuple[float, int, int] | None = None
    for rank, (type_, subtype) in enumerate(types):
        # Each type takes the quality of its most specific matching range (RFC 9110 §12.5.1).
        matching = [(r.matches(type_, subtype), r) for r in ranges]
        matching = [(s, r) for s, r in matching if s]
        if not matching:
            continue
        specificity, chosen = max(matching, key=lambda pair: (pair[0], -pair[1].position))
        if chosen.quality <= 0:
            continue
        candidate = (chosen.quality, specificity - rank * 0.1, chosen.position)
        if found is None or (candidate[0], -candidate[2]) > (found[0], -found[2]):
            found = candidate
    return found
