"""The in-memory book-text index (tests and development): the same answers as ``booktext_tantivy``."""
from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from elibrary.search.booktext import BookText, Passage, TextHit, fold, passages, query_words
from elibrary.search.positions import MemoryPositions


class MemoryBookText:
    """Passages in a dict; a query scans them (fine for a few books)."""

    def __init__(self) -> None:
        self.positions = MemoryPositions()
        self._lock = threading.Lock()
        self._books: dict[int, tuple[str, list[tuple[Passage, str]]]] = {}

    @classmethod
    def from_settings(cls, _settings: Mapping[str, Any]) -> "MemoryBookText":
        """A fresh, empty index."""
        return cls()

    def _entry(self, book: BookText) -> tuple[str, list[tuple[Passage, str]]]:
        return book.source, [(p, fold(p.text)) for p in passages(book)]

    def sources(self, title_ids: Iterable[int]) -> dict[int, str]:
        """The source each indexed title was made from."""
        return {i: self._books[i][0] for i in set(title_ids) if i in self._books}

    def replace(self, books: Iterable[BookText]) -> None:
        """Index these books, replacing what each title had."""
        entries = {book.title_id: self._entry(book) for book in books}
        with self._lock:
            self._books.update(entries)

    def delete(self, title_ids: Iterable[int]) -> None:
        """Remove these titles."""
        with self._lock:
            for i in title_ids:
                self._books.pop(i, None)

    def rebuild(self, books: Iterable[BookText]) -> int:
        """Replace everything."""
        entries = {book.title_id: self._entry(book) for book in books}
        with self._lock:
            self._books = entries
        return len(entries)

    def search(self, text: str, limit: int = 20) -> list[TextHit]:
        """Titles (by id) with a passage holding every word; the passage with most occurrences first."""
        words = query_words(text)
        if not words or limit <= 0:
            return []
        scored = []
        for title_id, (_source, entries) in sorted(self._books.items()):
            best = max(((sum(f.count(w) for w in words), p) for p, f in entries if all(w in f for w in words)),
                       key=lambda pair: pair[0], default=None)
            if best:
                scored.append((-best[0], title_id, best[1]))
        return [TextHit(title_id, passage) for _, title_id, passage in sorted(scored, key=lambda s: s[:2])[:limit]]

    def warm(self) -> None:
        """Nothing to read: the passages are in memory."""

    def status(self) -> dict:
        """Health: titles and passages held."""
        return {"ok": True, "backend": "memory", "titles": len(self._books),
                "passages": sum(len(e) for _, e in self._books.values())}
