"""The book-text index (本文検索): passages of the books' text in, titles with their best passage out.

Separate from the catalog index: a catalog index holds a few hundred characters per title, this one holds
every word of every book the library may show text of (100k–300k characters a book). Like the catalog
index it is a folder of this server, follows the change log ``search_queue`` with its own position
(``catalog.text_indexing``) and knows nothing of the database or of HTTP.

Text is folded once by ``fold`` (the catalog's normalisation: width, case, kana, 旧字体, the long-vowel
mark and small kana; white space dropped) before the engine sees it, and a query word matches a passage
whose folded text holds it as an exact substring. Snippets are cut from the passage's original text by
``snippets.snippet``.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from elibrary.search.analysis import normalize
from elibrary.search.base import PositionStore, SearchError, SearchUnavailable

__all__ = ["BookText", "BookTextIndex", "Passage", "TextHit", "fold", "query_words", "SearchError", "SearchUnavailable",
           "PASSAGE_CHARS", "PASSAGE_OVERLAP", "MAX_QUERY_WORD", "passages"]

PASSAGE_CHARS = 1000  # characters of original text per passage
PASSAGE_OVERLAP = 40  # a hit across a boundary (a query word of up to this many characters) is still found
MAX_QUERY_WORD = 40  # longer query words are cut (a phrase longer than the overlap could straddle two passages)
MAX_QUERY_WORDS = 5

_SPACE = re.compile(r"\s+")


def fold(text: str) -> str:
    """Text as the index and queries see it: ``analysis.normalize`` (C-speed translate/normalize), white space dropped."""
    return _SPACE.sub("", normalize(text))


def query_words(text: str) -> list[str]:
    """The folded words of a query (split at white space), each cut to ``MAX_QUERY_WORD``; at most ``MAX_QUERY_WORDS``."""
    words = [fold(w)[:MAX_QUERY_WORD] for w in text.split()]
    return [w for w in dict.fromkeys(words) if w][:MAX_QUERY_WORDS]


@dataclass(frozen=True)
class BookText:
    """The extracted text of one title's book, and the fingerprint of what it was made from (file hash, rules)."""

    title_id: int
    source: str  # e.g. the book file's sha256; an unchanged source is not indexed again
    text: str


@dataclass(frozen=True)
class Passage:
    """One stretch of a book's text: its place (``number``) and the original characters."""

    title_id: int
    number: int
    text: str


@dataclass(frozen=True)
class TextHit:
    """A title whose text holds every query word, and its best passage (the original text)."""

    title_id: int
    passage: Passage


def passages(book: BookText) -> Iterable[Passage]:
    """Cut a book into passages of ``PASSAGE_CHARS`` original characters, each overlapping the next by ``PASSAGE_OVERLAP``."""
    text, step = book.text, PASSAGE_CHARS - PASSAGE_OVERLAP
    for number, start in enumerate(range(0, max(len(text) - PASSAGE_OVERLAP, 1), step)):
        chunk = text[start : start + PASSAGE_CHARS]
        if chunk.strip():
            yield Passage(book.title_id, number, chunk)


@runtime_checkable
class BookTextIndex(Protocol):
    """A full-text index of books' text, with its own position in the change log."""

    positions: PositionStore

    def sources(self, title_ids: Iterable[int]) -> dict[int, str]:
        """The ``source`` each of these titles was indexed from (titles not in the index are absent)."""

    def replace(self, books: Iterable[BookText]) -> None:
        """Index these books' text, replacing what each title had; visible once this returns."""

    def delete(self, title_ids: Iterable[int]) -> None:
        """Remove these titles' text (unknown ids are ignored)."""

    def rebuild(self, books: Iterable[BookText]) -> int:
        """Replace the whole index with ``books``; returns how many titles were indexed."""

    def search(self, text: str, limit: int = 20) -> list[TextHit]:
        """Titles whose text holds every word of ``text`` (exact substrings after ``fold``), best first, one passage each."""

    def status(self) -> dict:
        """Health data: ``{"ok": bool, "titles": int, "passages": int}``."""

    def warm(self) -> None:
        """Start reading the index into memory in the background, once per process, where that spares a restarted
        server's first searches a wait for the disk (a worker calls it when it starts following the change log)."""
