"""What every parser produces: import records and problems, plain data with no database in sight.

A parser turns bytes into a stream of ``ImportRecord`` (one title as the source describes it),
``Problem`` (a record that could not be read at all, or a whole file refused) and, for ONIX, ``KnownRecord``
(bytes an earlier import already applied). ``apply.Importer`` is the one step that writes them.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Union

from elibrary.catalog.credits import ContributorCredit, SubjectEntry

FORMATS = ("onix", "marc", "epub", "csv")


@dataclass(frozen=True)
class Price:
    """A price from the supply detail (ONIX), kept with the import record."""

    amount: str
    currency: str
    price_type: str = ""


@dataclass
class ImportRecord:
    """One title as a source describes it. ``None`` means "the source does not say": keep what we have."""

    source: str  # "onix", "marc", "csv", "epub"
    position: str  # where it is in the file, for the report: "product 12", "line 8", "record 3"
    source_record_id: str | None = None
    title: str | None = None
    title_reading: str | None = None
    subtitle: str | None = None
    series_title: str | None = None
    series_reading: str | None = None
    volume: str | None = None
    publisher: str | None = None
    published_on: date | str | None = None
    isbn: str | None = None
    ndc: str | None = None
    language: str | None = None
    audience: str | None = None
    age_min: int | str | None = None
    age_max: int | str | None = None
    description: str | None = None
    format: str | None = None
    page_count: int | str | None = None
    page_progression: str | None = None
    accessibility: list[str] | None = None
    contributors: list[ContributorCredit] | None = None
    subjects: list[SubjectEntry] | None = None
    cover_url: str | None = None
    prices: list[Price] = field(default_factory=list)
    availability: str | None = None  # ONIX ProductAvailability code (List 65)
    withdrawn: bool = False  # the source deletes the record (ONIX NotificationType 05)
    # EPUB: the book file itself (a path on disk, read when stored), its layout and cover image.
    file_path: str | None = None
    layout: str | None = None
    cover_image: bytes | None = field(default=None, repr=False)
    cover_media_type: str | None = None
    check_report: list | None = None
    # A hash of the source's bytes for this record (ONIX: the serialised <Product>), stored with the import
    # so that the same bytes next time are recognised before they are mapped. Not part of the fingerprint.
    source_hash: str | None = None

    @property
    def label(self) -> str:
        """How the report names the record: its position, id and title."""
        parts = [self.position]
        if self.source_record_id:
            parts.append(self.source_record_id)
        if self.title:
            parts.append(self.title[:60])
        return " / ".join(parts)

    def fingerprint(self) -> str:
        """A hash of everything the record says, to tell an unchanged re-import in one comparison (cached)."""
        cached = self.__dict__.get("_fingerprint")
        if cached is None:
            values = [getattr(self, name) for name in _FINGERPRINTED]
            values.append([(c.name, c.reading, c.role) for c in self.contributors] if self.contributors is not None else None)
            values.append([(s.term, s.scheme, s.reading) for s in self.subjects] if self.subjects is not None else None)
            values.append([(p.amount, p.currency, p.price_type) for p in self.prices])
            values.append(hashlib.sha256(self.cover_image).hexdigest() if self.cover_image else None)
            encoded = json.dumps(values, default=str, ensure_ascii=False).encode("utf-8")
            cached = self.__dict__["_fingerprint"] = hashlib.sha256(encoded).hexdigest()
        return cached


# Everything but where the record sits (position, file path), what is fingerprinted separately, and checks.
_FINGERPRINTED = (
    "source", "source_record_id", "title", "title_reading", "subtitle", "series_title", "series_reading", "volume",
    "publisher", "published_on", "isbn", "ndc", "language", "audience", "age_min", "age_max", "description", "format",
    "page_count", "page_progression", "accessibility", "cover_url", "availability", "withdrawn", "layout", "cover_media_type",
)


@dataclass(frozen=True)
class Problem:
    """Why a record (or a whole file) was rejected, in words a librarian can act on."""

    position: str
    reason_ja: str
    reason_en: str
    record_id: str = ""
    field: str = ""
    title: str = ""
    fatal: bool = False  # the rest of the file cannot be read

    def reason(self, locale: str = "ja") -> str:
        """The reason in ``locale``."""
        return self.reason_en if locale == "en" else self.reason_ja


@dataclass
class KnownRecord:
    """A record whose source bytes hash to those of an earlier import: not mapped again (re-import fast path).

    ``title_id`` is the title that import wrote; ``read()`` maps the record after all, for when something
    else in the same run changed that title and this record must be applied again to win.
    """

    source: str
    position: str
    source_hash: str
    title_id: int
    read: Callable[[], "ImportRecord | Problem"] = field(repr=False, compare=False)


ParsedItem = Union[ImportRecord, Problem, KnownRecord]
