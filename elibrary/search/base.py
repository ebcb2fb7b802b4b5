"""The search interface: documents in, title ids out.

The catalog turns a ``Title`` into a ``SearchDocument`` (plain data); a backend indexes documents and
answers a ``SearchQuery`` with a ``SearchResult`` of title ids, a (possibly capped) hit count and facet
counts. Backends know nothing of the database or of HTTP, so a server-based engine (PostgreSQL
full-text, OpenSearch) can replace Whoosh behind the same Protocol.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, runtime_checkable

# Facets every backend supports; values are the codes stored on the title.
FACETS = ("audience", "format", "language", "ndc1", "availability")
SORTS = ("relevance", "newest", "reading")

MAX_QUERY_LENGTH = 200


class SearchError(Exception):
    """The search backend failed (index missing or corrupt, engine unreachable)."""


class SearchUnavailable(SearchError):
    """The index cannot be opened right now; the caller should show a friendly message."""


@dataclass(frozen=True)
class SearchDocument:
    """What the search index knows of one title. Built by ``catalog.search_documents``."""

    id: int
    title: str
    title_reading: str = ""
    subtitle: str = ""
    series: str = ""
    series_reading: str = ""
    contributors: tuple[str, ...] = ()
    contributor_readings: tuple[str, ...] = ()
    publisher: str = ""
    subjects: tuple[str, ...] = ()
    description: str = ""
    isbn: str = ""
    ndc: str = ""
    audience: str = ""
    format: str = ""
    language: str = ""
    published: date | None = None
    available: bool = True


@dataclass(frozen=True)
class SearchQuery:
    """A user's search: free text plus facet filters, a sort and a page window."""

    text: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    sort: str = "relevance"
    offset: int = 0
    limit: int = 20
    with_facets: bool = True


@dataclass(frozen=True)
class SearchResult:
    """Title ids in order, the hit count (exact up to ``count_cap``), and facet value counts."""

    ids: list[int]
    total: int
    total_is_capped: bool = False
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


Progress = Callable[[int], None]


@dataclass(frozen=True)
class LogPosition:
    """How far an index has followed the change log: the last entry applied, and when (Unix time)."""

    change_id: int
    at: float


class PositionStore(Protocol):
    """Where one index keeps its ``LogPosition`` (``search.positions``)."""

    def read(self) -> LogPosition | None:
        """The recorded position, None if none was."""

    def write(self, position: LogPosition) -> None:
        """Record a position."""

    def following(self) -> AbstractContextManager[None]:
        """Held while following the log: one follower at a time per index."""


@runtime_checkable
class SearchBackend(Protocol):
    """A full-text index of the catalog, with its own position in the change log (``positions``)."""

    positions: PositionStore

    def upsert(self, documents: Iterable[SearchDocument]) -> None:
        """Add or replace these documents; visible to searches once this returns."""

    def delete(self, ids: Iterable[int]) -> None:
        """Remove these title ids (unknown ids are ignored)."""

    def rebuild(self, documents: Iterable[SearchDocument], progress: Progress | None = None) -> int:
        """Replace the whole index with ``documents``; returns how many were indexed."""

    def search(self, query: SearchQuery) -> SearchResult:
        """Answer a query. Any text is accepted: query syntax characters are plain text."""

    def suggest(self, text: str, limit: int = 3) -> list[str]:
        """"もしかして": up to ``limit`` queries close to ``text`` that find titles, best first (``search.suggestions``)."""

    def outdated(self) -> bool:
        """True when the index was written by an older version of the code that this one cannot read: it must be
        rebuilt from the database (``catalog.indexing`` does so by itself)."""

    def status(self) -> dict:
        """Health data for /healthz: ``{"ok": bool, ...}``."""
