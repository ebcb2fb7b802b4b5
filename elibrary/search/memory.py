"""An in-memory search backend: the fake for tests, with the same analysis and matching rules as Whoosh.

Documents are kept as token sets per field (``documents.field_tokens``) and every query is evaluated by
scanning them, so it is only for small catalogs: tests and development.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from elibrary.search import documents, suggestions
from elibrary.search.base import FACETS, SORTS, Progress, SearchDocument, SearchQuery, SearchResult
from elibrary.search.documents import Unit
from elibrary.search.positions import MemoryPositions

DEFAULT_COUNT_CAP = 1000


class _Entry:
    __slots__ = ("doc", "tokens", "facets")

    def __init__(self, doc: SearchDocument) -> None:
        self.doc = doc
        self.tokens = {(field, tok) for field, toks in documents.field_tokens(doc).items() for tok in toks}
        self.facets = documents.facet_values(doc)

    def matches(self, unit: Unit) -> bool:
        return all(any(alt in self.tokens for alt in clause) for clause in unit)


class MemorySearch:
    """Every query word must match (AND); ranking and sorts as in ``WhooshSearch``."""

    def __init__(self, *, count_cap: int = DEFAULT_COUNT_CAP) -> None:
        self.count_cap = count_cap
        self._entries: dict[int, _Entry] = {}
        self._lock = threading.Lock()
        self.positions = MemoryPositions()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "MemorySearch":
        """Only ``ELIBRARY_SEARCH_COUNT_CAP`` is read."""
        return cls(count_cap=int(settings.get("ELIBRARY_SEARCH_COUNT_CAP") or DEFAULT_COUNT_CAP))

    def upsert(self, documents_: Iterable[SearchDocument]) -> None:
        """Add or replace documents."""
        entries = [_Entry(doc) for doc in documents_]
        with self._lock:
            self._entries.update((e.doc.id, e) for e in entries)

    def delete(self, ids: Iterable[int]) -> None:
        """Remove documents."""
        with self._lock:
            for i in ids:
                self._entries.pop(i, None)

    def rebuild(self, documents_: Iterable[SearchDocument], progress: Progress | None = None) -> int:
        """Replace everything (swapped in at the end, as the Whoosh backend does)."""
        fresh: dict[int, _Entry] = {}
        for doc in documents_:
            fresh[doc.id] = _Entry(doc)
            if progress:
                progress(len(fresh))
        with self._lock:
            self._entries = fresh
        return len(fresh)

    def search(self, query: SearchQuery) -> SearchResult:
        """Filter, match, rank or sort, window."""
        units = documents.query_units(query.text or "")
        with self._lock:
            entries = list(self._entries.values())
        hits = [
            e for e in entries
            if all(e.matches(u) for u in units)
            and all(f in FACETS and (not v or e.facets[f] == str(v)) for f, v in query.filters.items())
        ]
        sort = query.sort if query.sort in SORTS else "relevance"
        if sort == "reading":
            hits.sort(key=lambda e: (documents.reading_key(e.doc).encode("utf-8"), e.doc.id))
        else:
            hits.sort(key=lambda e: documents.newest_key(e.doc))
            if sort == "relevance" and units:
                hits.sort(key=lambda e: self._tier(e, query.text))
        facets: dict[str, dict[str, int]] = {}
        if query.with_facets:
            for facet in FACETS:
                counts: dict[str, int] = {}
                for e in hits:
                    if value := e.facets[facet]:
                        counts[value] = counts.get(value, 0) + 1
                facets[facet] = counts
        offset, limit = max(query.offset, 0), max(query.limit, 0)
        window = hits[offset : offset + limit]
        capped = len(hits) > self.count_cap
        return SearchResult(
            ids=[e.doc.id for e in window],
            total=self.count_cap if capped else len(hits),
            total_is_capped=capped,
            facets=facets,
        )

    @staticmethod
    def _tier(entry: _Entry, text: str) -> int:
        exact = documents.exact_clause(text)
        if exact and entry.matches([exact]):
            return 0
        pairs = list(zip(documents.query_units(text, "title"), documents.query_units(text, "author"), strict=False))
        if all(entry.matches(t) for t, _ in pairs):
            return 1
        if all(entry.matches(t) or entry.matches(a) for t, a in pairs):
            return 2
        return 3

    def suggest(self, text: str, limit: int = 3) -> list[str]:
        """"もしかして" suggestions (``suggestions.suggest``) from the documents in memory."""
        return suggestions.suggest(_Lexicon(self), text, limit)

    def outdated(self) -> bool:
        """Never: the index lives only as long as this code."""
        return False

    def status(self) -> dict:
        """Always healthy."""
        return {"ok": True, "backend": "memory", "documents": len(self._entries)}


class _Lexicon:
    """``suggestions.Lexicon`` over the documents in memory (a scan: small catalogs only)."""

    def __init__(self, search: MemorySearch) -> None:
        self._search = search
        with search._lock:
            self._entries = sorted(search._entries.values(), key=lambda e: e.doc.id)

    def finds(self, text: str) -> bool:
        return self._search.search(SearchQuery(text=text, limit=0, with_facets=False)).total > 0

    def candidate_phrases(self, tokens: list[str], limit: int) -> list[suggestions.Phrase]:
        def has(entry: _Entry, token: str) -> bool:
            return any((field, token) in entry.tokens for field in suggestions.SUGGEST_FIELDS)

        usable = [t for t in tokens if sum(has(e, t) for e in self._entries) <= suggestions.COMMON]
        scored = [(sum(has(e, t) for t in usable), e) for e in self._entries]
        best = sorted(((n, e) for n, e in scored if n), key=lambda ne: (-ne[0], ne[1].doc.id))[:limit]
        return [p for _, e in best for p in suggestions.phrases(e.doc)]

    def terms(self, prefix: str, limit: int) -> list[str]:
        found = {t for e in self._entries for f, t in e.tokens if f in ("title", "author") and t.startswith(prefix)}
        return sorted(found, key=lambda t: t.encode("utf-8"))[:limit]
