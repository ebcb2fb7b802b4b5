"""What a distributor's file gives the pool, as plain data: titles with their offers, and problems.

The parsers that read ONIX and CSV files live in ``catalog_import`` (``catalog_import.pool_parse``, which
maps a title exactly as the catalog import does); they hand ``pool.import_pool`` these records, so the
selection wing never depends on the import pipeline.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from elibrary.catalog.credits import ContributorCredit, SubjectEntry
from elibrary.selection.offers import OfferTerms


@dataclass(frozen=True)
class PoolProblem:
    """A record (or a whole file, ``fatal``) not taken into the pool, or an offer skipped, in words staff can act on."""

    position: str
    reason_ja: str
    reason_en: str
    record_id: str = ""
    field: str = ""
    title: str = ""
    fatal: bool = False

    def reason(self, locale: str = "ja") -> str:
        """The reason in ``locale``."""
        return self.reason_en if locale == "en" else self.reason_ja


@dataclass
class PoolRecord:
    """A pool title as the file describes it (what the pool shows and what the catalog gets on receiving)."""

    source: str
    position: str
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
    description: str | None = None
    page_count: int | str | None = None
    contributors: list[ContributorCredit] | None = None
    subjects: list[SubjectEntry] | None = None
    withdrawn: bool = False


@dataclass
class PoolItem:
    """One pool title: its key (the ISBN, else the source's id), the record, offers, linked ISBNs, skipped offers."""

    key: str
    record: PoolRecord
    offers: list[OfferTerms] = field(default_factory=list)
    related_isbns: list[str] = field(default_factory=list)
    skipped: list[PoolProblem] = field(default_factory=list)
