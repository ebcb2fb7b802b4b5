"""A search backend on tantivy (a compiled engine, Rust, through its official Python bindings), for large
catalogs: ``ELIBRARY_SEARCH = "tantivy"``.

The same analysis and matching rules as the Whoosh backend and the in-memory fake (``search.documents``):
each field stores the pre-analysed tokens as separate untokenised terms, a query word is a conjunction of
clauses of term alternatives, ranking is by the same four tiers (the whole query is a title or a name; every
word in the title; in title or contributors; the rest), each tier ordered by publication date or reading.
Facets come from tantivy's terms aggregation over fast fields. The index lives in ``ELIBRARY_SEARCH_PATH``
like Whoosh's; one server's workers share it, and writes happen one at a time under the change-log lock.
An index written by a version of this code with another ``INDEX_FORMAT`` is reported outdated and rebuilt
from the database (``catalog.indexing``) instead of being opened.
"""
from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import tantivy

from elibrary.search import documents, suggestions, tantivy_build
from elibrary.search.base import FACETS, SORTS, Progress, SearchDocument, SearchError, SearchQuery, SearchResult, SearchUnavailable
from elibrary.search.documents import TOKEN_FIELDS, Clause, Unit, query_units
from elibrary.search.positions import FilePositions
from elibrary.search.tantivy_folder import IndexOutdated, TantivyFolder

DEFAULT_COUNT_CAP = 1000
WRITER_HEAP = 128 * 1024 * 1024
NO_DATE = 0  # undated titles sort after dated ones in "newest"
MAX_DATE = 99_999_999
TERM_QUERIES_KEPT = 50_000  # term queries a worker keeps for reuse
ID_LIMIT = 2**32  # title ids share an integer with the date in the "newest" key
READING_MARK = "r"  # before every reading key: a title without a reading still has a (first) value
# The schema and analysis this code writes and expects: change it with either (an index of another format is rebuilt).
INDEX_FORMAT = "catalog-2"


def make_schema() -> tantivy.Schema:
    """Token fields (raw terms), facet fields (raw, fast), the id and the two sort keys (fast)."""
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    for field in TOKEN_FIELDS:
        builder.add_text_field(field, stored=False, tokenizer_name="raw", index_option="basic")
    for facet in FACETS:
        builder.add_text_field(facet, stored=False, tokenizer_name="raw", fast=True, index_option="basic")
    # (MAX_DATE - yyyymmdd) << 32 | id: ascending is newest first, ties by id, and the value carries the id,
    # so the relevance tiers and "newest" never read the document store.
    builder.add_integer_field("newest_id", stored=False, indexed=False, fast=True)
    # 五十音順: the whole reading key as a column (ordered by its bytes); never searched, never read from the store.
    builder.add_text_field("reading", stored=False, tokenizer_name="raw", fast=True, index_option="basic")
    builder.add_bytes_field("phrases", stored=True, indexed=False)  # もしかして's phrases: read, never searched
    return builder.build()


class TantivySearch:
    """Every query word must match (AND); tiers, sorts and facets as in ``WhooshSearch``."""

    def __init__(self, path: str | os.PathLike, *, count_cap: int = DEFAULT_COUNT_CAP,
                 helper_after: int | None = tantivy_build.HELPER_AFTER) -> None:
        self.path = Path(path)
        self.count_cap = count_cap
        self.helper_after = helper_after  # a rebuild of more documents than this uses helper processes (None: never)
        self.positions = FilePositions(self.path)
        self.tantivy_schema = make_schema()
        self._folder = TantivyFolder(self.path, self.tantivy_schema, writer_heap=WRITER_HEAP, format=INDEX_FORMAT)
        self._term_queries: dict[tuple[str, str], tantivy.Query] = {}

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "TantivySearch":
        """Open (or create) the index at ``ELIBRARY_SEARCH_PATH``."""
        return cls(settings["ELIBRARY_SEARCH_PATH"], count_cap=int(settings.get("ELIBRARY_SEARCH_COUNT_CAP") or DEFAULT_COUNT_CAP))

    # -- opening and writing ----------------------------------------------------------------------
    def _open(self) -> tantivy.Index:
        return self._folder.open()

    def _write(self, change) -> None:
        self._folder.write(change)

    def _document(self, doc: SearchDocument) -> tantivy.Document:
        fields: dict[str, Any] = {"id": doc.id}
        for field, tokens in documents.field_tokens(doc).items():
            if tokens:
                fields[field] = tokens
        for facet, value in documents.facet_values(doc).items():
            if value:
                fields[facet] = value
        if not 0 <= doc.id < ID_LIMIT:
            raise ValueError(f"title id out of the tantivy index's range: {doc.id}")
        newest = MAX_DATE - int(doc.published.strftime("%Y%m%d")) if doc.published else MAX_DATE - NO_DATE
        fields["newest_id"] = newest << 32 | doc.id
        fields["reading"] = READING_MARK + documents.reading_key(doc)  # never empty: every title has a value
        fields["phrases"] = suggestions.encode(suggestions.phrases(doc)).encode("utf-8")
        return tantivy.Document(**fields)

    def upsert(self, documents_: Iterable[SearchDocument]) -> None:
        """Add or replace documents (visible once this returns)."""
        docs = list(documents_)
        if not docs:
            return

        def change(writer) -> None:
            for doc in docs:
                writer.delete_documents_by_term("id", doc.id)
                writer.add_document(self._document(doc))

        self._write(change)

    def delete(self, ids: Iterable[int]) -> None:
        """Remove these title ids (unknown ids are ignored)."""
        ids = list(ids)
        if ids:
            self._write(lambda writer: [writer.delete_documents_by_term("id", i) for i in ids])

    def rebuild(self, documents_: Iterable[SearchDocument], progress: Progress | None = None) -> int:
        """Build a new index beside the old one and swap it in (searches keep working meanwhile).

        Past ``helper_after`` documents, helper processes analyse and index them while this one reads them
        (``search.tantivy_build``): the analysis is Python, so that is what puts both cores to work.
        """
        fresh = self.path.with_name(self.path.name + ".rebuild")
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir(parents=True)
        try:
            count = self._build(fresh, documents_, progress)
        except BaseException:
            shutil.rmtree(fresh, ignore_errors=True)
            raise
        self._folder.swap_in(fresh)
        if progress:
            progress(count)
        return count

    def _build(self, fresh: Path, documents_: Iterable[SearchDocument], progress: Progress | None) -> int:
        # Batches wait (unanalysed) until the rebuild proves large enough for helpers, who then take them all.
        index = tantivy.Index(self.tantivy_schema, path=str(fresh))
        parts = [fresh.with_name(f"{fresh.name}{i}") for i in range(tantivy_build.HELPERS)]
        helpers: list[tantivy_build.IndexHelper] = []
        waiting: list[list[SearchDocument]] = [[]]
        count, turns = 0, itertools.count()  # helpers take batches in turn
        try:
            for doc in documents_:
                waiting[-1].append(doc)
                count += 1
                if len(waiting[-1]) == tantivy_build.BATCH:
                    if not helpers and self.helper_after is not None and count > self.helper_after:
                        helpers = [tantivy_build.IndexHelper(folder) for folder in parts]
                    for batch in waiting if helpers else ():
                        helpers[next(turns) % len(helpers)].offer(batch)
                    waiting = [[]] if helpers else [*waiting, []]
                if progress and count % 1000 == 0:
                    progress(count)
            if helpers:
                for batch in waiting:
                    helpers[next(turns) % len(helpers)].offer(batch)
                indexed = sum(helper.finish() for helper in helpers)
                tantivy_build.combine(fresh, parts)
            else:
                writer = index.writer(WRITER_HEAP, 1)
                for doc in itertools.chain.from_iterable(waiting):
                    writer.add_document(self._document(doc))
                writer.commit()
                writer.wait_merging_threads()
                indexed = count
        except tantivy_build.HelperFailed as exc:
            raise SearchError(f"search index rebuild failed: {exc}") from exc
        finally:
            for helper in helpers:
                helper.cancel()
            for folder in parts:
                shutil.rmtree(folder, ignore_errors=True)
        if indexed != count or tantivy.Index(self.tantivy_schema, path=str(fresh)).searcher().num_docs != count:
            raise SearchError(f"search index rebuild failed: {count} documents read, {indexed} indexed")
        return count

    # -- searching --------------------------------------------------------------------------------
    def _term(self, field: str, token: str) -> tantivy.Query:
        # Term queries are immutable and recur (common words, facet values): made once per worker, within a bound.
        key = (field, token)
        found = self._term_queries.get(key)
        if found is None:
            if len(self._term_queries) >= TERM_QUERIES_KEPT:
                self._term_queries.clear()
            found = self._term_queries[key] = tantivy.Query.term_query(self.tantivy_schema, field, token)
        return found

    def _clause(self, clause: Clause) -> tantivy.Query:
        alternatives = [self._term(field, token) for field, token in clause]
        if len(alternatives) == 1:
            return alternatives[0]
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in alternatives])

    def _unit(self, unit: Unit) -> tantivy.Query:
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, self._clause(c)) for c in unit])

    def _base(self, units: list[Unit], filters: Mapping[str, str]) -> tantivy.Query | None:
        musts = [self._unit(u) for u in units]
        for facet, value in sorted(filters.items()):
            if facet not in FACETS:
                return None  # an unknown facet matches nothing rather than everything
            if value:
                musts.append(self._term(facet, str(value)))
        if not musts:
            return tantivy.Query.all_query()
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in musts])

    def _tier_parts(self, text: str) -> tuple[tantivy.Query | None, tantivy.Query | None, tantivy.Query | None]:
        """What puts a title in each of the first three tiers of ``WhooshSearch._tiers`` (None: nothing can):
        the whole query is its title or a name; every word is in the title; every word in title or names."""
        def both(*parts):
            return tantivy.Query.boolean_query([(tantivy.Occur.Must, p) for p in parts])

        clause = documents.exact_clause(text)
        exact = self._clause(clause) if clause else None
        pairs = list(zip(query_units(text, "title"), query_units(text, "author"), strict=False))
        if not pairs:
            return exact, None, None
        title = both(*[self._unit(t) for t, _ in pairs])
        either = both(*[tantivy.Query.boolean_query([(tantivy.Occur.Should, self._unit(t)), (tantivy.Occur.Should, self._unit(a))])
                        for t, a in pairs])
        return exact, title, either

    def _tiers(self, base: tantivy.Query, text: str) -> Iterator[tantivy.Query]:
        """The four tiers as queries, each excluding the ones before (made as needed); the last is the rest."""
        before: list[tantivy.Query] = []
        for tier in [*(p for p in self._tier_parts(text) if p is not None), tantivy.Query.all_query()]:
            parts = [(tantivy.Occur.Must, base), (tantivy.Occur.Must, tier)] + [(tantivy.Occur.MustNot, b) for b in before]
            yield tantivy.Query.boolean_query(parts)
            before.append(tier)

    def search(self, query: SearchQuery) -> SearchResult:
        """Answer a query: any text is accepted, too-long text is cut at ``MAX_QUERY_LENGTH``."""
        index = self._open()
        searcher = index.searcher()
        units = query_units(query.text or "")
        base = self._base(units, query.filters)
        if base is None:
            return SearchResult(ids=[], total=0, facets={f: {} for f in FACETS} if query.with_facets else {})
        sort = query.sort if query.sort in SORTS else "relevance"
        offset, need = max(query.offset, 0), max(query.offset, 0) + max(query.limit, 0)
        ids: list[int] = []
        many = self._surely_more_than(searcher, units, query.filters, max(self.count_cap, need))
        if sort == "relevance" and units:
            if many:  # the count shown is the cap whatever the exact one: no pass to count, and the page is tiers
                total = self.count_cap + 1
            else:  # one pass counts the hits and keeps the newest of them: when they all fit on the page, those are all
                found = searcher.search(base, max(need, 1), count=True, order_by_field="newest_id", order=tantivy.Order.Asc)
                total = found.count
            if 0 < total <= need:  # every hit fits on the page: rank them, rather than evaluate every tier in full
                ids = self._rank_few(searcher, [value & (ID_LIMIT - 1) for value, _ in found.hits], query.text or "")
            elif need:
                for tier in self._tiers(base, query.text or ""):
                    ids.extend(self._ordered(searcher, tier, need - len(ids), sort))
                    if len(ids) >= need:
                        break
        elif sort != "reading":  # newest first (also relevance without words): the order and the count in one pass
            found = searcher.search(base, max(need, 1), count=True, order_by_field="newest_id", order=tantivy.Order.Asc)
            ids, total = [value & (ID_LIMIT - 1) for value, _ in found.hits][:need], found.count
        else:
            ids = self._ordered(searcher, base, need, sort) if need else []
            # The sort's page holds every hit when it is not full.
            if len(ids) < need or many:
                total = len(ids) if len(ids) < need else self.count_cap + 1
            else:
                total = searcher.search(base, 1, count=True, order_by_field="newest_id").count
        facets = self._facets(searcher, base) if query.with_facets else {}
        capped = total > self.count_cap
        return SearchResult(ids=ids[offset:need], total=self.count_cap if capped else total, total_is_capped=capped, facets=facets)

    def _surely_more_than(self, searcher, units: list[Unit], filters: Mapping[str, str], bound: int) -> bool:
        """True when the term dictionary alone shows more than ``bound`` hits: a query of one word matched by one
        clause (a common word, one kanji) has at least its commonest alternative's documents, less every deleted one."""
        if len(units) != 1 or len(units[0]) != 1 or any(filters.values()):
            return False
        # Every document has one availability term, deleted ones too until a merge drops them.
        written = sum(searcher.doc_freq("availability", value) for value in ("available", "unavailable"))
        deleted = written - searcher.num_docs
        return max(searcher.doc_freq(field, token) for field, token in units[0][0]) - deleted > bound

    def _rank_few(self, searcher, hits: list[int], text: str) -> list[int]:
        """These hits (every hit of the query, newest first) in relevance order: each tier is evaluated among them only.

        "Every word in the title" lies within "every word in title or names", so the wider is asked first and
        the narrower only among what it found (a pasted sentence from a description usually finds neither).
        """
        def matching(tier: tantivy.Query, ids: list[int]) -> set[int]:
            among = tantivy.Query.term_set_query(self.tantivy_schema, "id", ids)
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, among), (tantivy.Occur.Must, tier)])
            return {value & (ID_LIMIT - 1) for value, _ in
                    searcher.search(query, len(ids), order_by_field="newest_id", order=tantivy.Order.Asc, count=False).hits}

        exact, title, either = self._tier_parts(text)
        tier_of: dict[int, int] = {}
        left = hits
        if exact is not None:
            tier_of = dict.fromkeys(matching(exact, left), 0)
            left = [i for i in left if i not in tier_of]
        if either is not None and left:
            in_either = matching(either, left)
            in_title = matching(title, [i for i in left if i in in_either]) if in_either else set()
            tier_of.update({i: 1 if i in in_title else 2 for i in in_either})
        return sorted(hits, key=lambda title_id: tier_of.get(title_id, 3))  # stable: newest first within a tier

    def _ordered(self, searcher, query: tantivy.Query, limit: int, order: str) -> list[int]:
        """The first ``limit`` hits in ``order``, ties broken exactly as the other backends do (reading key, then id).

        "newest" is one fast field holding the date and the id, so tantivy's order is the exact order. The
        reading order is the key's column; titles with equal keys are ordered by id, so hits are fetched in
        growing batches until the batch ends past the ``limit``-th hit's key, and the ties sorted by id.
        """
        if order != "reading":
            hits = searcher.search(query, limit, order_by_field="newest_id", order=tantivy.Order.Asc, count=False).hits
            return [value & (ID_LIMIT - 1) for value, _address in hits]
        batch = limit + 8
        while True:
            hits = searcher.search(query, batch, order_by_field="reading", order=tantivy.Order.Asc, count=False).hits
            if len(hits) < batch or hits[-1][0] != hits[min(limit, len(hits)) - 1][0]:
                break
            batch *= 4
        if not hits:
            return []
        last = hits[min(limit, len(hits)) - 1][0]
        hits = [(key, address) for key, address in hits if key <= last]  # past it: never among the first ``limit``
        ids = searcher.fast_field_values("id", [address for _, address in hits])
        return [title_id for _, title_id in sorted(zip((key for key, _ in hits), ids, strict=True))][:limit]  # str order: the bytes' order

    def _facets(self, searcher, base: tantivy.Query) -> dict[str, dict[str, int]]:
        aggs = {facet: {"terms": {"field": facet, "size": 200}} for facet in FACETS}
        result = searcher.aggregate(base, aggs)
        return {facet: {b["key"]: int(b["doc_count"]) for b in result.get(facet, {}).get("buckets", []) if b["key"]} for facet in FACETS}

    def suggest(self, text: str, limit: int = 3) -> list[str]:
        """"もしかして" suggestions (``suggestions.suggest``) from this index's titles and names."""
        return suggestions.suggest(_Lexicon(self), text, limit)

    def close(self) -> None:
        """Let go of the index (files are reopened on the next search)."""
        self._folder.close()

    def outdated(self) -> bool:
        """True when the index was written by a version of this code with another schema or analysis."""
        return self._folder.outdated()

    def status(self) -> dict:
        """Health for /healthz."""
        try:
            count = self._open().searcher().num_docs
        except IndexOutdated as exc:
            return {"ok": False, "backend": "tantivy", "schema_current": False, "error": f"{exc} (rebuilding)"}
        except (SearchUnavailable, ValueError, OSError) as exc:
            return {"ok": False, "backend": "tantivy", "error": str(exc)[:200]}
        return {"ok": True, "backend": "tantivy", "documents": count, "schema_current": True}


class _Lexicon:
    """``suggestions.Lexicon`` over a tantivy index: candidate documents by their matching tokens, phrases stored."""

    def __init__(self, search: TantivySearch) -> None:
        self._search = search
        self._searcher = search._open().searcher()

    def finds(self, text: str) -> bool:
        return self._search.search(SearchQuery(text=text, limit=0, with_facets=False)).total > 0

    def candidate_phrases(self, tokens: list[str], limit: int) -> list[suggestions.Phrase]:
        schema, searcher = self._search.tantivy_schema, self._searcher
        counts: dict[int, int] = {}
        stored: dict[int, str] = {}
        for token in tokens:
            query = tantivy.Query.boolean_query([(tantivy.Occur.Should, tantivy.Query.term_query(schema, f, token))
                                                 for f in suggestions.SUGGEST_FIELDS])
            hits = searcher.search(query, suggestions.COMMON + 1).hits
            if not hits or len(hits) > suggestions.COMMON:
                continue
            for _, address in hits:
                found = searcher.doc(address)
                title_id = found["id"][0]
                counts[title_id] = counts.get(title_id, 0) + 1
                stored[title_id] = bytes(found.get_first("phrases") or b"").decode("utf-8")
        best = sorted(counts, key=lambda i: (-counts[i], i))[:limit]
        return [p for i in best for p in suggestions.decode(stored[i])]

    def terms(self, prefix: str, limit: int) -> list[str]:
        found: set[str] = set()
        for field in ("title", "author"):
            for term, _count in self._searcher.terms_with_prefix(field, prefix):
                found.add(term if isinstance(term, str) else bytes(term).decode("utf-8"))
        return sorted(found, key=lambda t: t.encode("utf-8"))[:limit]
