"""Answering queries over a Whoosh index with document sets held as Python integers (bitsets).

Whoosh's own collectors score and visit every matching document in Python, so a two-kanji word that
matches most of a 100k catalog costs hundreds of milliseconds, and exact hit counts and facet counts cost
another pass each (measured with ``bench/search.py``). Here every posting list is read once into a
bitset (bit *n* set = document *n* matches) and kept in a small LRU cache; a query is then big-integer
``&``/``|`` (C speed), its count ``int.bit_count()``, each facet count one more ``&``, and the top N come
from a sort order computed once. Exact counting becomes free; the count cap stays part of the interface
so an engine where counting is not free can honour it.

Everything is cached *per segment* and kept across reader refreshes: after another worker commits one
title, Whoosh adds a small segment and the big one keeps its cached bitsets, columns and sort orders.
"""
from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from elibrary.search.documents import Clause, Unit

# With more than this many hits per wanted result, walking the sort order beats sorting the hits.
_WALK_FACTOR = 16


def to_bitset(docnums: Iterable[int], size: int) -> int:
    """A bitset of ``size`` bits with the given document numbers set."""
    buf = bytearray((size + 7) >> 3)
    for d in docnums:
        buf[d >> 3] |= 1 << (d & 7)
    return int.from_bytes(buf, "little")


def docnums(bitset: int) -> list[int]:
    """The document numbers set in ``bitset``, ascending (visiting 64-bit words, skipping empty ones)."""
    out: list[int] = []
    nbytes = ((bitset.bit_length() + 63) >> 6) << 3
    for i, word in enumerate(memoryview(bitset.to_bytes(nbytes, "little")).cast("Q")):
        if word:
            base = i << 6
            while word:
                low = word & -word
                out.append(base + low.bit_length() - 1)
                word ^= low
    return out


def _leaf_ids(matcher) -> Iterable[int]:
    """All document numbers of a fresh postings matcher, a block at a time where the codec allows."""
    while hasattr(matcher, "child") and not hasattr(matcher, "_read_ids"):
        matcher = matcher.child  # deletions are removed by the live-documents bitset instead
    if not all(hasattr(matcher, a) for a in ("_read_ids", "_next_block", "_ids", "_i", "_blocklength")):
        yield from matcher.all_ids()  # another codec: the generic (slower) path
        return
    while matcher.is_active():
        matcher.id()  # loads the block's ids
        yield from matcher._ids[matcher._i : matcher._blocklength]
        matcher._i = matcher._blocklength
        matcher._next_block()


class SegmentGone(Exception):
    """A segment's files were deleted (merged away by another writer) after its reader was opened.

    Whoosh opens column files lazily and answers ``has_column`` by looking for the file, so a search that
    races a merge would otherwise read every value of the vanished column as its default. The search is
    retried with a fresh reader, which no longer holds the segment.
    """


class TermCache:
    """Posting lists of recently used terms, least recently used dropped past a memory budget.

    A dense list is kept as a bitset; a sparse one as an array of document numbers (a bitset of a rare
    term in a large segment would cost as much memory as a common one) and turned into a bitset on use.
    """

    def __init__(self, budget_bytes: int = 48 * 2**20) -> None:
        self._entries: OrderedDict[tuple, tuple[int | array, int]] = OrderedDict()
        self._budget = budget_bytes
        self._used = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> int | array | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: tuple, value: int | array) -> None:
        cost = 64 + (len(value) * value.itemsize if isinstance(value, array) else (value.bit_length() >> 3))
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = (value, cost)
            self._used += cost
            while self._used > self._budget and len(self._entries) > 1:
                _, (_, freed) = self._entries.popitem(last=False)
                self._used -= freed


class SegmentSets:
    """Bitsets, facet sets, columns and sort orders of one Whoosh segment (its files never change)."""

    def __init__(self, key: str, reader, facets: Sequence[str], cache: TermCache) -> None:
        self.key = key
        self.reader = reader
        self.size = reader.doc_count_all()
        self._facets = facets
        self._cache = cache
        self._facet_sets: dict[str, dict[str, int]] | None = None
        self._columns: dict[str, list] = {}
        self._orders: dict[str, array] = {}
        self._live_for: int | None = None
        self.live = 0
        self.attach(reader)

    def attach(self, reader) -> None:
        """Use a newer reader of the same segment (its deletions may have changed)."""
        self.reader = reader
        deleted = reader.segment().deleted_count() if reader.has_deletions() else 0
        if deleted != self._live_for:
            if deleted:
                self.live = to_bitset(reader.all_doc_ids(), self.size)
            else:
                self.live = (1 << self.size) - 1
            self._live_for = deleted

    # -- posting lists ------------------------------------------------------------------------------
    def term(self, field: str, token: str) -> int:
        """The bitset of documents having ``token`` in ``field`` (cached, deletions not applied)."""
        key = (self.key, field, token)
        cached = self._cache.get(key)
        if cached is None:
            found = array("I")
            if (field, token) in self.reader:
                found.extend(_leaf_ids(self.reader.postings(field, token)))
            cached = to_bitset(found, self.size) if len(found) * 32 >= self.size else found
            self._cache.put(key, cached)
        return to_bitset(cached, self.size) if isinstance(cached, array) else cached

    def clause(self, clause: Clause) -> int:
        """Documents matching any alternative of the clause."""
        bits = 0
        for field, token in clause:
            bits |= self.term(field, token)
        return bits

    def unit(self, unit: Unit, bits: int) -> int:
        """``bits`` narrowed to the documents matching every clause of ``unit``."""
        for clause in unit:
            if not bits:
                return 0
            bits &= self.clause(clause)
        return bits

    # -- facets ---------------------------------------------------------------------------------------
    def facet_sets(self) -> dict[str, dict[str, int]]:
        """For each facet field, a bitset per value (deletions not applied)."""
        if self._facet_sets is None:
            sets: dict[str, dict[str, int]] = {}
            for field in self._facets:
                values = [v.decode("utf-8") if isinstance(v, bytes) else v for v in self.reader.lexicon(field)]
                sets[field] = {value: self.term(field, value) for value in values}
            self._facet_sets = sets
        return self._facet_sets

    def add_facet_counts(self, hits: int, counts: dict[str, dict[str, int]]) -> None:
        """Add the value counts of every facet among ``hits`` to ``counts``."""
        for field, values in self.facet_sets().items():
            into = counts.setdefault(field, {})
            for value, bits in values.items():
                if n := (bits & hits).bit_count():
                    into[value] = into.get(value, 0) + n

    # -- columns and ordering -------------------------------------------------------------------------
    def column(self, field: str) -> list:
        """All values of a column, by document number."""
        if field not in self._columns:
            if self.reader.has_column(field):
                try:
                    self._columns[field] = list(self.reader.column_reader(field))
                except OSError as exc:  # deleted between the check and the open
                    raise SegmentGone(self.key) from exc
            elif self.size and field in self.reader.schema and self.reader.schema[field].column_type:
                raise SegmentGone(self.key)  # the schema has the column, so its file was merged away
            else:
                self._columns[field] = [0 if field != "reading" else b""] * self.size
        return self._columns[field]

    def sort_key(self, sort: str):
        """Key function of a document number: (published descending, id) or (reading, id)."""
        ids = self.column("num")
        if sort == "newest":
            published = self.column("published")
            return lambda d: (-published[d], ids[d])  # undated (0) sorts after every date
        readings = self.column("reading")
        return lambda d: (readings[d], ids[d])

    def order(self, sort: str) -> array:
        """All document numbers in ``sort`` order (built once per segment, on the first large result)."""
        if sort not in self._orders:
            self._orders[sort] = array("l", sorted(range(self.size), key=self.sort_key(sort)))
        return self._orders[sort]

    def top(self, bits: int, sort: str, need: int) -> list[int]:
        """The first ``need`` document numbers of ``bits`` in ``sort`` order."""
        count = bits.bit_count()
        if not count or need <= 0:
            return []
        if count <= _WALK_FACTOR * need:
            # Few hits: sort them by their keys. Otherwise walking the sort order meets ``need`` of them
            # after about need × size / count steps.
            return sorted(docnums(bits), key=self.sort_key(sort))[:need]
        ordered = self.order(sort)
        raw = bits.to_bytes((self.size + 7) >> 3, "little")
        out: list[int] = []
        for docnum in ordered:
            if raw[docnum >> 3] >> (docnum & 7) & 1:
                out.append(docnum)
                if len(out) == need:
                    break
        return out


class IndexSets:
    """The segments of the current reader, with their ``SegmentSets`` reused across refreshes."""

    def __init__(self, facets: Sequence[str], cache: TermCache | None = None) -> None:
        self._facets = facets
        self._cache = cache or TermCache()
        self._by_segment: dict[str, SegmentSets] = {}
        self.segments: list[SegmentSets] = []

    def attach(self, reader) -> None:
        """Follow a newly opened reader: keep the caches of segments it still has, drop the others."""
        fresh: dict[str, SegmentSets] = {}
        segments = []
        for segment_reader, _offset in reader.leaf_readers():
            segment = segment_reader.segment()
            key = segment.segment_id() if segment is not None else f"anon-{id(segment_reader)}"
            sets = self._by_segment.get(key)
            if sets is None:
                sets = SegmentSets(key, segment_reader, self._facets, self._cache)
            else:
                sets.attach(segment_reader)
            fresh[key] = sets
            segments.append(sets)
        self._by_segment, self.segments = fresh, segments

    def forget(self, key: str) -> None:
        """Drop a segment whose files are gone; the next ``attach`` will not hold it."""
        self._by_segment.pop(key, None)

    def documents(self) -> int:
        """Live documents in the index."""
        return sum(s.live.bit_count() for s in self.segments)
