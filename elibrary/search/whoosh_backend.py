"""The Whoosh search backend: one index directory per site, one writer at a time, caches per process.

Design (measured with ``bench/search.py``; see docs/search.md):
- Text is analysed by ``analysis`` *before* Whoosh sees it and stored as space-separated tokens, so the
  index schema holds only Whoosh's own classes (it opens under whoosh3 and Whoosh-Reloaded alike) and
  query syntax never reaches a parser: queries are built from tokens.
- One catch-all field ``text`` (recall), small ``title`` and ``author`` fields (ranking), a ``uni`` field
  of single characters of the short fields (one-character queries such as 猫), ID facet fields, and
  columns for the sorts. No positions, no frequencies: a word matches when all its bigrams do.
- Queries are answered with bitsets (``whoosh_docsets``); relevance ranks titles matching every word
  in the title first, then those matching in title or contributors, then the rest, each newest first.
- Segments are written as separate files (Whoosh copies a compound segment file into memory for every
  reader: ~100 MB and 0.3 s at 100k titles), so each search opens a fresh reader in under a millisecond
  and sees every commit of every worker; the per-segment caches survive from one search to the next.
- ``rebuild`` writes its segment directly (``whoosh_segments.SegmentBuilder``: postings inverted in memory
  and written a block at a time, the same files ``add_document`` would give, ~4x cheaper), and past
  ``helper_after`` titles two helper processes analyse and write them as two segments while the caller
  reads the database, so both cores work. The new
  table of contents is committed once, so readers switch from the old index to the new one at once.
- Whoosh allows one writer: writers wait ``lock_timeout`` seconds, then raise ``SearchUnavailable``;
  ``catalog.indexing`` keeps its queue rows and retries.
"""
from __future__ import annotations

import fcntl
import itertools
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from whoosh import columns, fields, formats, index
from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.index import LockError
from whoosh.writing import CLEAR

from elibrary.search import documents, suggestions
from elibrary.search.base import (
    FACETS,
    SORTS,
    Progress,
    SearchDocument,
    SearchError,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
)
from elibrary.search.documents import TOKEN_FIELDS, query_units
from elibrary.search.helper_process import HelperFailed
from elibrary.search.positions import FilePositions
from elibrary.search.whoosh_docsets import IndexSets, SegmentGone, SegmentSets
from elibrary.search.whoosh_lexicon import WhooshLexicon
from elibrary.search.whoosh_segments import SegmentBuilder, SegmentHelper

DEFAULT_COUNT_CAP = 1000
# A search racing another worker's merge retries with a fresh reader (see ``SegmentGone``).
_RETRIES = 3
# A rebuild hands documents to its helper process in batches of this many, once past ``helper_after``.
_REBUILD_BATCH = 500
DEFAULT_HELPER_AFTER = 5_000
# Helper processes of a large rebuild: with this process reading the database, enough for two cores.
_HELPERS = 2


def _token_field() -> fields.FieldType:
    # Pre-analysed tokens; Existence format: no positions or frequencies are needed (AND of bigrams).
    return fields.FieldType(formats.Existence(), SpaceSeparatedTokenizer(), scorable=False, stored=False)


def make_schema() -> fields.Schema:
    """The index schema; an index whose field names differ is rebuilt from scratch by ``rebuild``."""
    schema = fields.Schema(
        id=fields.ID(stored=True, unique=True),
        num=fields.COLUMN(columns.NumericColumn("q")),
        published=fields.COLUMN(columns.NumericColumn("i")),
        reading=fields.COLUMN(columns.VarBytesColumn()),
        phrases=fields.STORED(),  # titles and names a "もしかして" suggestion may offer
    )
    for name in TOKEN_FIELDS:
        schema.add(name, _token_field())
    for name in FACETS:
        schema.add(name, fields.ID())
    return schema


def document_fields(doc: SearchDocument) -> dict[str, Any]:
    """The Whoosh fields of one search document."""
    values: dict[str, Any] = {name: " ".join(toks) for name, toks in documents.field_tokens(doc).items()}
    values.update(
        id=str(doc.id),
        num=doc.id,
        published=int(doc.published.strftime("%Y%m%d")) if doc.published else 0,
        reading=documents.reading_key(doc).encode("utf-8"),
        phrases=suggestions.encode(suggestions.phrases(doc)),
    )
    values.update(documents.facet_values(doc))
    return {k: v for k, v in values.items() if v != ""}


class WhooshSearch:
    """Full-text search over a Whoosh index directory (``ELIBRARY_SEARCH_PATH``)."""

    def __init__(self, path: str | os.PathLike, *, count_cap: int = DEFAULT_COUNT_CAP, lock_timeout: float = 2.0,
                 helper_after: int | None = DEFAULT_HELPER_AFTER) -> None:
        self.path = Path(path)
        self.count_cap = count_cap
        self.lock_timeout = lock_timeout
        # A rebuild of more documents than this starts a helper process (None: never).
        self.helper_after = helper_after
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._index = None
        self._sets = IndexSets(FACETS)
        self.positions = FilePositions(self.path)
        self._ensure_index()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "WhooshSearch":
        """Open (or create) the index at ``ELIBRARY_SEARCH_PATH``."""
        return cls(settings["ELIBRARY_SEARCH_PATH"], count_cap=int(settings.get("ELIBRARY_SEARCH_COUNT_CAP") or DEFAULT_COUNT_CAP))

    # -- opening --------------------------------------------------------------------------------------
    @contextmanager
    def _creation_lock(self) -> Iterator[None]:
        # Two workers starting at once must not both create the index.
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / ".create.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _ensure_index(self) -> None:
        with self._creation_lock():
            # Only look for a table of contents: a damaged index must not stop the app (status() reports it).
            if not any(self.path.glob("_MAIN_*.toc")):
                index.create_in(str(self.path), make_schema())

    def _open(self):
        try:
            if self._index is None:
                self._index = index.open_dir(str(self.path))
            return self._index
        except Exception as exc:  # missing, corrupt or unreadable index files
            self._index = None
            raise SearchUnavailable(f"search index at {self.path} cannot be opened: {exc}") from exc

    @contextmanager
    def _segments(self) -> Iterator[list[SegmentSets]]:
        """The segments of the newest committed generation, for one search.

        Opening a reader of separate segment files costs well under a millisecond, so every search opens
        one and closes it: a commit by any worker is seen at once, no file stays open between requests,
        and the cached bitsets and columns of unchanged segments are kept (``IndexSets.attach``).
        Searches in one process take turns (they take about a millisecond once the caches are warm).
        """
        ix = self._open()
        with self._read_lock:
            try:
                reader = ix.reader()
            except Exception as exc:
                raise SearchUnavailable(f"search index at {self.path} cannot be read: {exc}") from exc
            try:
                self._sets.attach(reader)
                yield self._sets.segments
            finally:
                reader.close()

    # -- writing --------------------------------------------------------------------------------------
    @contextmanager
    def _writer(self, timeout: float, **kwargs) -> Iterator[Any]:
        with self._write_lock:
            ix = self._open()
            try:
                # Separate segment files: Whoosh copies a compound segment file into memory for every reader.
                writer = ix.writer(timeout=timeout, compound=False, **kwargs)
            except LockError as exc:
                raise SearchUnavailable("search index is locked by another writer") from exc
            try:
                yield writer
            except BaseException:
                writer.cancel()
                raise

    def upsert(self, documents: Iterable[SearchDocument]) -> None:
        """Add or replace documents; committed (visible to every process) when this returns."""
        docs = list(documents)
        if not docs:
            return
        with self._writer(self.lock_timeout) as writer:
            known = set(writer.schema.names())  # an index of an older schema takes what it has until a rebuild
            for doc in docs:
                writer.update_document(**{k: v for k, v in document_fields(doc).items() if k in known})
            self._commit(writer)

    def delete(self, ids: Iterable[int]) -> None:
        """Remove title ids (unknown ids are ignored)."""
        ids = list(ids)
        if not ids:
            return
        with self._writer(self.lock_timeout) as writer:
            for title_id in ids:
                writer.delete_by_term("id", str(title_id))
            self._commit(writer)

    def rebuild(self, documents: Iterable[SearchDocument], progress: Progress | None = None) -> int:
        """Write a fresh index of ``documents`` and swap it in atomically (readers keep the old one until then).

        The new segment is written directly (``SegmentBuilder``); past ``helper_after`` documents two helper
        processes analyse and write them all as two segments while this one reads them.
        """
        if not self._schema_is_current():
            with self._write_lock, self._creation_lock():
                index.create_in(str(self.path), make_schema())
                self._index = None
        with self._writer(max(self.lock_timeout, 60.0), limitmb=128) as writer:
            if not SegmentBuilder.supports(writer.schema):
                # Whoosh's own path, for a schema the direct segment builder cannot write.
                count = 0
                for doc in documents:
                    writer.add_document(**document_fields(doc))
                    count += 1
                    if progress:
                        progress(count)
                self._commit(writer, mergetype=CLEAR)
                return count
            return self._build(writer, documents, progress)

    def _build(self, writer, documents: Iterable[SearchDocument], progress: Progress | None) -> int:
        # Batches wait (unanalysed) until the rebuild proves large enough for helpers, who then take them
        # all: a large rebuild gives one segment per helper, a small one a single segment written here.
        builder, helpers, waiting, batch, count = SegmentBuilder.for_writer(writer), [], [], [], 0
        turns = itertools.count()  # helpers take batches in turn
        try:
            for doc in documents:
                batch.append(doc)
                count += 1
                if len(batch) == _REBUILD_BATCH:
                    waiting.append(batch)
                    batch = []
                    if not helpers and self.helper_after is not None and count > self.helper_after:
                        helpers = [SegmentHelper(str(self.path), writer.indexname) for _ in range(_HELPERS)]
                    if helpers:
                        for queued in waiting:
                            self._index_batch(builder, helpers, queued, next(turns))
                        waiting = []
                if progress:
                    progress(count)
            for queued in [*waiting, batch]:
                self._index_batch(builder, helpers, queued, next(turns))
            builder.finish()
            extra = [segment for helper in helpers if (segment := helper.finish()) is not None]
        except HelperFailed as exc:
            raise SearchError(f"search index rebuild failed: {exc}") from exc
        finally:
            for helper in helpers:
                helper.cancel()
        # CLEAR, plus the helpers' segments (the writer adds its own if it wrote any): one table of contents.
        self._commit(writer, mergetype=lambda _writer, _old: extra)
        return count

    @staticmethod
    def _index_batch(builder: SegmentBuilder, helpers: list[SegmentHelper], batch: list, turn: int) -> None:
        # Helpers take turns; without helpers (a small rebuild) the batch is indexed here. A helper that
        # stopped fails the rebuild at once: its segment is lost, so indexing on would be wasted.
        if not batch:
            return
        if not helpers:
            for doc in batch:
                builder.add(document_fields(doc))
        elif not helpers[turn % len(helpers)].offer(batch):
            raise HelperFailed("a helper process stopped")

    def _commit(self, writer, **kwargs) -> None:
        try:
            writer.commit(**kwargs)
        except Exception as exc:
            raise SearchError(f"search index commit failed: {exc}") from exc

    def _schema_is_current(self) -> bool:
        try:
            return set(self._open().schema.names()) == set(make_schema().names())
        except SearchUnavailable:
            return False

    # -- searching ------------------------------------------------------------------------------------
    def search(self, query: SearchQuery) -> SearchResult:
        """Answer a query: any text is accepted, too-long text is cut at ``MAX_QUERY_LENGTH``."""
        gone: SegmentGone | None = None
        for _attempt in range(_RETRIES):
            try:
                with self._segments() as segments:
                    return self._search(segments, query)
            except SegmentGone as exc:
                gone = exc
                with self._read_lock:
                    self._sets.forget(str(exc))
        raise SearchUnavailable("search index is changing too fast to read; try again") from gone

    def _search(self, segments: list[SegmentSets], query: SearchQuery) -> SearchResult:
        units = query_units(query.text or "")
        sort = query.sort if query.sort in SORTS else "relevance"
        order = "reading" if sort == "reading" else "newest"
        need = max(query.offset, 0) + max(query.limit, 0)
        total, facets, candidates = 0, {}, []
        for seg in segments:
            hits = self._segment_hits(seg, units, query.filters)
            total += hits.bit_count()
            if query.with_facets:
                seg.add_facet_counts(hits, facets)
            tiers = self._tiers(seg, query.text or "", hits) if sort == "relevance" and units else [hits]
            key, ids, taken = seg.sort_key(order), seg.column("num"), 0
            for rank, bits in enumerate(tiers):
                top = seg.top(bits, order, need - taken)
                candidates.extend(((rank, key(d)), ids[d]) for d in top)
                taken += len(top)
        candidates.sort(key=lambda c: c[0])
        capped = total > self.count_cap
        return SearchResult(
            ids=[title_id for _, title_id in candidates[max(query.offset, 0) : need]],
            total=self.count_cap if capped else total,
            total_is_capped=capped,
            facets={f: facets.get(f, {}) for f in FACETS} if query.with_facets else {},
        )

    @staticmethod
    def _segment_hits(seg: SegmentSets, units, filters: Mapping[str, str]) -> int:
        hits = seg.live
        for unit in units:
            hits = seg.unit(unit, hits)
        for facet, value in sorted(filters.items()):
            if facet not in FACETS:
                return 0  # an unknown facet matches nothing rather than everything
            if value:
                hits &= seg.term(facet, str(value))
        return hits

    @staticmethod
    def _tiers(seg: SegmentSets, text: str, hits: int) -> list[int]:
        """Hits whose whole title or a name is the query, then matching every word in the title, then in
        title or contributors, then the rest (``MemorySearch._tier``)."""
        exact_clause = documents.exact_clause(text)
        exact = seg.clause(exact_clause) & hits if exact_clause else 0
        in_title, in_either = hits, hits
        for title_unit, author_unit in zip(query_units(text, "title"), query_units(text, "author"), strict=False):
            title_bits = seg.unit(title_unit, in_either)
            in_title &= title_bits
            in_either &= title_bits | seg.unit(author_unit, in_either)
        in_title &= ~exact
        second = in_either & ~in_title & ~exact
        return [exact, in_title, second, hits & ~exact & ~in_title & ~second]

    def suggest(self, text: str, limit: int = 3) -> list[str]:
        """"もしかして" suggestions (``suggestions.suggest``) from this index's titles and names."""
        def finds(query: str) -> bool:
            return self.search(SearchQuery(text=query, limit=0, with_facets=False)).total > 0

        return suggestions.suggest(WhooshLexicon(self._segments, finds), text, limit)

    def close(self) -> None:
        """Drop the cached posting lists and columns (no file stays open between searches)."""
        with self._read_lock:
            self._sets = IndexSets(FACETS)

    def outdated(self) -> bool:
        """Never: an index of an older schema keeps answering until ``rebuild`` (``elibrary search reindex``) replaces it."""
        return False

    def status(self) -> dict:
        """Health for /healthz."""
        try:
            with self._segments() as segments:
                documents = sum(seg.live.bit_count() for seg in segments)
            return {"ok": True, "backend": "whoosh", "documents": documents, "schema_current": self._schema_is_current()}
        except SearchError as exc:
            return {"ok": False, "backend": "whoosh", "error": str(exc)}
