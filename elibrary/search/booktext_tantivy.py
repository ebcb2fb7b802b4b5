"""The book-text index on tantivy (``search.booktext``): exact substring search over 400M characters.

tantivy's own n-gram tokenizer (``Tokenizer.ngram(2, 2)``) gives every bigram the position 0, so a phrase
of consecutive bigrams cannot be asked of it (checked with tantivy-py 0.25–0.27). Instead each passage's
folded text is indexed twice with tantivy's regex tokenizer cutting it into *non-overlapping* pairs of
characters (``(?s)..?``, positions 0, 1, 2 …): field ``e`` from the first character, field ``o`` from the
second. Any substring starts at an even offset (its pairs are consecutive terms of ``e``) or at an odd one
(consecutive terms of ``o``), so a query word of even length is a phrase query in ``e`` or in ``o``; one of
odd length needs its first and last 2k characters, which fall in opposite fields; one character is a regex
term query (``x.?``) in either field. The tokenizing runs in Rust; Python only folds text
(``str.translate``/``unicodedata.normalize``) and cuts passages.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import tantivy

from elibrary.search.base import SearchUnavailable
from elibrary.search.booktext import BookText, Passage, TextHit, fold, passages, query_words
from elibrary.search.positions import FilePositions
from elibrary.search.tantivy_folder import TantivyFolder

WRITER_HEAP = 128 * 1024 * 1024
PAIRS = "pairs"  # the registered tokenizer's name
CANDIDATES = 400  # passages read per query, best first, to find up to ``limit`` titles
# What a worker reads into the page cache when it first opens the index, in this order: the term dictionaries
# and posting lists every query starts from, the title-id column, then positions (phrases) and the stored
# passages (snippets), up to ``ELIBRARY_BOOKTEXT_WARM_MB``.
WARM_ORDER = (".term", ".idx", ".fast", ".fieldnorm", ".pos", ".store")
WARM_CHUNK = 1024 * 1024


def make_schema() -> tantivy.Schema:
    """title id (fast), kind (``p`` passage, ``m`` a title's marker with its source), the pair fields, stored text."""
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("title_id", stored=True, indexed=True, fast=True)
    builder.add_integer_field("number", stored=True, indexed=False)
    builder.add_text_field("kind", stored=False, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("e", stored=False, tokenizer_name=PAIRS, index_option="position")
    builder.add_text_field("o", stored=False, tokenizer_name=PAIRS, index_option="position")
    builder.add_bytes_field("text", stored=True, indexed=False)  # the original passage, for the snippet
    builder.add_text_field("source", stored=True, tokenizer_name="raw", index_option="basic")
    return builder.build()


def _pairs_analyzer() -> tantivy.TextAnalyzer:
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(r"(?s)..?")).build()


class TantivyBookText:
    """``BookTextIndex`` in a folder of this server (``ELIBRARY_BOOKTEXT_PATH``)."""

    def __init__(self, path: str | os.PathLike, *, writer_heap: int = WRITER_HEAP, warm_mb: int = 0) -> None:
        self.path = Path(path)
        self.positions = FilePositions(self.path)
        self.schema = make_schema()
        self.writer_heap = writer_heap
        self.warm_bytes = warm_mb * 1024 * 1024
        self._folder = TantivyFolder(self.path, self.schema, writer_heap=writer_heap, what="book-text index",
                                     prepare=lambda index: index.register_tokenizer(PAIRS, _pairs_analyzer()))
        self._warmer: IndexWarmer | None = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "TantivyBookText":
        """The index at ``ELIBRARY_BOOKTEXT_PATH``, warmed up to ``ELIBRARY_BOOKTEXT_WARM_MB`` when a process first opens it."""
        return cls(settings["ELIBRARY_BOOKTEXT_PATH"], warm_mb=int(settings.get("ELIBRARY_BOOKTEXT_WARM_MB") or 0))

    # -- opening and writing ----------------------------------------------------------------------
    def _open(self) -> tantivy.Index:
        index = self._folder.open()
        self.warm()
        return index

    def warm(self) -> None:
        """Read the index into the page cache in the background, once per process (each worker, after the fork), up to
        ``ELIBRARY_BOOKTEXT_WARM_MB`` and never more than half of the machine's memory."""
        if self.warm_bytes and (self._warmer is None or self._warmer.pid != os.getpid()):
            self._warmer = IndexWarmer(self.path, min(self.warm_bytes, _half_of_memory()))
            self._warmer.start()

    @property
    def warmer(self) -> "IndexWarmer | None":
        """The background read of the index into the page cache started by this process's first open, if any."""
        return self._warmer

    def _write(self, change) -> None:
        self._folder.write(change)

    def _add(self, writer, book: BookText) -> None:
        writer.add_document(tantivy.Document(title_id=book.title_id, number=-1, kind="m", source=book.source))
        for passage in passages(book):
            folded = fold(passage.text)
            writer.add_document(tantivy.Document(title_id=book.title_id, number=passage.number, kind="p",
                                                 e=folded, o=folded[1:], text=passage.text.encode("utf-8")))

    def sources(self, title_ids: Iterable[int]) -> dict[int, str]:
        """The source each title was indexed from, read from its marker document."""
        ids = sorted(set(title_ids))
        if not ids:
            return {}
        searcher = self._open().searcher()
        query = tantivy.Query.boolean_query([
            (tantivy.Occur.Must, tantivy.Query.term_query(self.schema, "kind", "m")),
            (tantivy.Occur.Must, tantivy.Query.term_set_query(self.schema, "title_id", ids)),
        ])
        found: dict[int, str] = {}
        for _score, address in searcher.search(query, len(ids) + 1, count=False).hits:
            doc = searcher.doc(address)
            found[doc["title_id"][0]] = doc.get_first("source") or ""
        return found

    def replace(self, books: Iterable[BookText]) -> None:
        """Index these books, replacing each title's passages (visible once this returns)."""
        books = list(books)
        if not books:
            return

        def change(writer) -> None:
            for book in books:
                writer.delete_documents_by_term("title_id", book.title_id)
                self._add(writer, book)

        self._write(change)

    def delete(self, title_ids: Iterable[int]) -> None:
        """Remove these titles' passages and markers."""
        ids = sorted(set(title_ids))
        if ids:
            self._write(lambda writer: [writer.delete_documents_by_term("title_id", i) for i in ids])

    def rebuild(self, books: Iterable[BookText]) -> int:
        """Build a new index beside the old one and swap it in (searches keep answering meanwhile)."""
        fresh = self.path.with_name(self.path.name + ".rebuild")
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir(parents=True)
        index = self._folder.new_index(fresh, reuse=False)
        writer = index.writer(self.writer_heap, 1)
        count = 0
        for book in books:
            self._add(writer, book)
            count += 1
        writer.commit()
        writer.wait_merging_threads()
        self._folder.swap_in(fresh)
        return count

    # -- searching --------------------------------------------------------------------------------
    def _phrase(self, field: str, word: str) -> tantivy.Query:
        pairs = [word[i : i + 2] for i in range(0, len(word), 2)]
        if len(pairs) == 1:
            return tantivy.Query.term_query(self.schema, field, pairs[0])
        return tantivy.Query.phrase_query(self.schema, field, pairs)

    def _word(self, word: str) -> tantivy.Query:
        """Passages whose folded text holds ``word`` (``fold``-ed, at least one character)."""
        def any_of(*queries):
            return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in queries])

        def all_of(*queries):
            return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in queries])

        if len(word) == 1:
            pattern = _rust_escape(word) + ".?"
            return any_of(tantivy.Query.regex_query(self.schema, "e", pattern), tantivy.Query.regex_query(self.schema, "o", pattern))
        if len(word) % 2 == 0:
            return any_of(self._phrase("e", word), self._phrase("o", word))
        head, tail = word[:-1], word[1:]  # at an even offset: head in e, tail in o (at the same place); odd: the other way
        return any_of(all_of(self._phrase("e", head), self._phrase("o", tail)), all_of(self._phrase("o", head), self._phrase("e", tail)))

    def search(self, text: str, limit: int = 20) -> list[TextHit]:
        """Titles whose text holds every word of ``text`` within one passage, best passage first."""
        words = query_words(text)
        if not words or limit <= 0:
            return []
        searcher = self._open().searcher()
        query = tantivy.Query.boolean_query([(tantivy.Occur.Must, self._word(w)) for w in words])
        try:
            found = searcher.search(query, CANDIDATES, count=False).hits
        except ValueError as exc:  # a damaged segment: the page says the text search is unavailable
            raise SearchUnavailable(f"the book-text index cannot be searched: {exc}") from None
        addresses = [address for _score, address in found]
        # the title of every candidate from the fast field (a column read), so only the passages of the
        # titles returned are loaded from the document store (the cold, slow part of a query)
        title_ids = searcher.fast_field_values("title_id", addresses)
        halves_apart = any(len(w) > 1 and len(w) % 2 for w in words)  # an odd-length word's halves may match apart
        hits: dict[int, TextHit] = {}
        for address, title_id in zip(addresses, title_ids, strict=True):
            if title_id in hits:
                continue
            doc = searcher.doc(address)
            original = bytes(doc["text"][0]).decode("utf-8")
            if halves_apart and not all(w in fold(original) for w in words):
                continue  # not this passage; the title's next candidate may hold the words
            hits[title_id] = TextHit(title_id, Passage(title_id, doc["number"][0], original))
            if len(hits) >= limit:
                break
        return list(hits.values())

    def close(self) -> None:
        """Let go of the index (files are reopened on the next search) and stop a warm-up under way."""
        if self._warmer is not None:
            self._warmer.stop()
        self._folder.close()

    def status(self) -> dict:
        """Health: how many titles and passages the index holds."""
        try:
            searcher = self._open().searcher()
            titles = searcher.search(tantivy.Query.term_query(self.schema, "kind", "m"), 1, count=True).count
        except (SearchUnavailable, ValueError, OSError) as exc:
            return {"ok": False, "backend": "tantivy", "error": str(exc)[:200]}
        return {"ok": True, "backend": "tantivy", "titles": titles, "passages": searcher.num_docs - titles}


def _half_of_memory() -> int:
    """Half of the machine's physical memory in bytes (a warm-up must not push everything else out of the page cache)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):  # no such sysconf names on this platform
        return 1 << 62


class IndexWarmer:
    """Reads an index folder's files once, at the lowest CPU priority (and I/O priority under BFQ), so that a restarted server's
    first searches find the posting lists in the page cache instead of waiting for the disk one page at a time.

    Bounded (``budget`` bytes, in ``WARM_ORDER``); pages already cached cost a copy, not a disk read; a file that
    disappears (a rebuild swapped in meanwhile) is skipped. ``done`` is set when it has finished.
    """

    def __init__(self, folder: Path, budget: int) -> None:
        self.folder = folder
        self.budget = budget
        self.pid = os.getpid()
        self.read_bytes = 0
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="booktext-warm", daemon=True)

    def start(self) -> None:
        """Begin reading in a background thread."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop reading (tests, a closed index)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def files(self) -> list[Path]:
        """The files to read, in ``WARM_ORDER`` (other files, such as ``meta.json``, are not read)."""
        rank = {kind: n for n, kind in enumerate(WARM_ORDER)}
        try:
            found = [path for path in self.folder.iterdir() if path.suffix in rank]
        except OSError:
            return []
        return sorted(found, key=lambda path: (rank[path.suffix], path.name))

    def _run(self) -> None:
        if sys.platform == "linux":  # on Linux a thread has its own nice value (elsewhere this would lower the whole process)
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
            except OSError:
                pass
        buffer = bytearray(WARM_CHUNK)
        try:
            for path in self.files():
                if self._stop.is_set() or self.read_bytes >= self.budget:
                    return
                self._read(path, buffer)
        finally:
            self.done.set()

    def _read(self, path: Path, buffer: bytearray) -> None:
        try:
            with open(path, "rb", buffering=0) as stream:
                while not self._stop.is_set() and self.read_bytes < self.budget:
                    got = stream.readinto(buffer)
                    if not got:
                        return
                    self.read_bytes += got
        except OSError:
            return


_RUST_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$#&\-~])")


def _rust_escape(text: str) -> str:
    return _RUST_SPECIAL.sub(r"\\\1", text)
