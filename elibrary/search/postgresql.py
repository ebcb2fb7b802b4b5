"""A search index kept in PostgreSQL: one row of analysed tokens per title, a GIN index over them.

The same analysis and matching rules as the other backends (``search.documents``): a document's token
lists become one ``text[]`` column whose elements are a field letter and a token (``t`` title, ``a``
author, ``u`` one-character, ``x`` catch-all), and a query unit's clauses become ``@>`` (all of these)
and ``&&`` (any of these) over it, which the GIN index answers. Relevance tiers, sorts and facets are
SQL over the matching rows, so every app server reads one index, and read replicas can answer searches.

Rows are written by the application in the same transaction as the title they describe
(``write_documents`` on the transaction's connection: ``catalog.indexing.index_in_transaction``);
``upsert``/``delete``/``rebuild`` use transactions of their own (the contract tests, ``elibrary search
reindex``). The tables are created by the migration ``0130_search_pg`` on PostgreSQL only; no extension
is needed.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, create_engine, delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from elibrary.config import ConfigError
from elibrary.search import documents, suggestions
from elibrary.search.base import FACETS, SORTS, Progress, SearchDocument, SearchQuery, SearchResult, SearchUnavailable
from elibrary.search.documents import Unit
from elibrary.search.positions import MemoryPositions
from elibrary.search.postgresql_rows import (
    COLUMNS,
    FIELD_LETTERS,
    ONE_AVAILABLE,
    SET_ONE_AVAILABLE,
    WRITE_BATCH,
    document_row,
    search_documents,
    search_terms,
    set_availability,
    terms_of,
    write_documents,
)

DEFAULT_COUNT_CAP = 1000

# The table's indexes as the migration (``0130_search_pg``) and ``metadata`` name them, built after a rebuild's load.
_INDEXES = (
    "ALTER TABLE search_documents ADD CONSTRAINT pk_search_documents PRIMARY KEY (title_id)",
    "CREATE INDEX ix_search_documents_tokens ON search_documents USING gin (tokens) WITH (fastupdate = off)",
    "CREATE INDEX ix_search_documents_newest ON search_documents (newest, title_id)",
    "CREATE INDEX ix_search_documents_reading ON search_documents (reading, title_id)",
)


def _copy_rows(conn: Connection, docs: Iterable[SearchDocument], progress: Progress | None) -> int:
    """COPY the rows of ``docs`` into ``search_documents_rebuild`` (and their words into ``search_terms``)."""
    cursor = conn.connection.driver_connection.cursor()
    count, batch = 0, []
    copy_sql = f"COPY search_documents_rebuild ({', '.join(COLUMNS)}) FROM STDIN"

    def flush() -> None:
        rows = [document_row(doc) for doc in batch]
        with cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row([row[c] for c in COLUMNS])
        if terms := terms_of(rows):
            conn.execute(insert(search_terms).on_conflict_do_nothing(), terms)

    for doc in docs:
        batch.append(doc)
        count += 1
        if len(batch) == WRITE_BATCH * 4:
            flush()
            batch = []
            if progress:
                progress(count)
    flush()
    return count


# A query with more tokens than this asks the GIN index for its rarest ones only (enough of them that few
# titles are expected to have them all), and checks the rest on those candidates' stored tokens: a
# 120-character pasted text has ~100 tokens, each a GIN lookup of its own.
MAX_INDEX_KEYS = 4
STATISTICS_SECONDS = 300  # how long a process trusts the table's element statistics it read


@dataclass(frozen=True)
class Rarity:
    """How often tokens occur, from PostgreSQL's statistics of ``tokens`` (its most common elements).

    A hint for choosing which tokens the GIN index looks up, never for the answers: every token is
    still checked. Tokens not among the most common are rarer than the least common of those.
    """

    frequencies: Mapping[str, float]
    rows: float
    read_at: float
    unknown: float = 0.0  # assumed for a token not among the most common: half the least common's

    def frequency(self, token: str) -> float:
        return self.frequencies.get(token, self.unknown)


class _Sql:
    """A query's conditions as SQL text with numbered parameters (arrays of field-lettered tokens)."""

    def __init__(self, rarity: Rarity | None = None) -> None:
        self.params: dict[str, Any] = {}
        self.rarity = rarity

    def param(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        if not isinstance(value, list):
            return f":{name}"
        return f"CAST(:{name} AS {'integer' if value and isinstance(value[0], int) else 'text'}[])"

    def units(self, units: Sequence[Unit]) -> str:
        """All of ``units`` on ``tokens``: the GIN index answers it, or its rarest part and the rest is checked."""
        every = [FIELD_LETTERS[f] + t for unit in units for clause in unit if len(clause) == 1 for f, t in clause]
        every = list(dict.fromkeys(every))
        keys = self._index_keys(units, every)
        parts = [f"tokens @> {self.param(keys)}"] if keys else []
        if len(keys) < len(every):
            # IS TRUE: a condition the planner cannot give to the index, checked on the candidates' rows.
            parts.append(f"(tokens @> {self.param(every)}) IS TRUE")
        for unit in units:
            parts += [f"tokens && {self.param([FIELD_LETTERS[f] + t for f, t in clause])}" for clause in unit if len(clause) > 1]
        return " AND ".join(parts) or "TRUE"

    def _index_keys(self, units: Sequence[Unit], every: list[str]) -> list[str]:
        """The tokens the GIN index looks up: all, or the rarest until about one title is expected to have them."""
        if len(every) <= MAX_INDEX_KEYS or not self.rarity or not self.rarity.frequencies:
            return every
        # Ties (the tokens rarer than any statistic knows) are taken a word at a time, from both ends of
        # each word: neighbouring pairs of one word go together, different words less so.
        order: dict[str, tuple[int, int]] = {}
        for unit in units:
            singles = [FIELD_LETTERS[f] + t for clause in unit if len(clause) == 1 for f, t in clause]
            ends = [singles[i // 2] if i % 2 == 0 else singles[-1 - i // 2] for i in range(len(singles))]
            for position, token in enumerate(ends):
                order.setdefault(token, (position, len(order)))
        ranked = sorted(every, key=lambda tok: (self.rarity.frequency(tok), order[tok]))
        keys, expected = [], self.rarity.rows
        for token in ranked:
            keys.append(token)
            expected *= self.rarity.frequency(token)
            if expected < 1 and len(keys) >= 2:
                break
        return keys


class PostgresSearch:
    """``ELIBRARY_SEARCH=postgresql``: the index is a table of the application's own database."""

    indexes_in_transaction = True  # the application writes rows with the title (no change log to follow)

    def __init__(self, url_or_engine: str | Engine, *, count_cap: int = DEFAULT_COUNT_CAP) -> None:
        self.engine = create_engine(url_or_engine, pool_pre_ping=True) if isinstance(url_or_engine, str) else url_or_engine
        if self.engine.dialect.name != "postgresql":
            raise ConfigError("ELIBRARY_SEARCH=postgresql needs ELIBRARY_DATABASE_URL to be a PostgreSQL database")
        self.count_cap = count_cap
        self.positions = MemoryPositions()
        self._rarity_read: Rarity | None = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "PostgresSearch":
        """The index in ``ELIBRARY_DATABASE_URL``; ``ELIBRARY_SEARCH_COUNT_CAP`` as for every backend."""
        return cls(settings["ELIBRARY_DATABASE_URL"], count_cap=int(settings.get("ELIBRARY_SEARCH_COUNT_CAP") or DEFAULT_COUNT_CAP))

    def close(self) -> None:
        """Close this backend's connections."""
        self.engine.dispose()

    def write_documents(self, connection: Connection, docs: list[SearchDocument], deleted: Iterable[int] = ()) -> None:
        """Upsert and delete rows in the caller's transaction (``catalog.transaction_index``)."""
        write_documents(connection, docs, deleted)

    def set_availability(self, connection: Connection, available: Mapping[int, bool]) -> None:
        """Change only the availability of these titles, in the caller's transaction."""
        set_availability(connection, available)

    def availability_statement(self):
        """One title's availability as an ``UPDATE`` with ``index_title_id`` and ``index_available``, for a lending statement to carry."""
        return SET_ONE_AVAILABLE

    def indexed_availability(self):
        """What the index holds as one title's availability (``index_title_id``), as a scalar subquery for a lending statement to read."""
        return ONE_AVAILABLE

    def upsert(self, docs: Iterable[SearchDocument]) -> None:
        """Add or replace documents in a transaction of their own."""
        with self._connect(write=True) as conn:
            write_documents(conn, list(docs))

    def delete(self, ids: Iterable[int]) -> None:
        """Remove documents (unknown ids are ignored)."""
        with self._connect(write=True) as conn:
            write_documents(conn, [], ids)

    def rebuild(self, docs: Iterable[SearchDocument], progress: Progress | None = None) -> int:
        """Replace every row in one transaction: searches see the old index until it commits.

        The rows are copied into a new table without indexes, which are then built in one pass each (far
        cheaper than keeping a GIN index up to date row by row), and the new table takes the old one's
        place. Writers of titles wait for the rebuild (the old table is locked against changes), as they
        would for its rows. The new table's statistics are gathered before it is committed.
        """
        with self._connect(write=True) as conn:
            conn.execute(text("LOCK TABLE search_documents IN EXCLUSIVE MODE"))  # readers go on, writers wait
            conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
            conn.execute(text("DROP TABLE IF EXISTS search_documents_rebuild"))
            conn.execute(text("CREATE TABLE search_documents_rebuild (LIKE search_documents INCLUDING DEFAULTS INCLUDING STORAGE) "
                              "WITH (fillfactor = 70, toast_tuple_target = 128)"))
            conn.execute(delete(search_terms))
            count = _copy_rows(conn, docs, progress)
            conn.execute(text("DROP TABLE search_documents"))
            conn.execute(text("ALTER TABLE search_documents_rebuild RENAME TO search_documents"))
            for statement in _INDEXES:
                conn.execute(text(statement))
            conn.execute(text("ANALYZE search_documents"))  # long queries pick their rarest tokens from these statistics
        self._rarity_read = None
        if progress:
            progress(count)
        return count

    def search(self, query: SearchQuery) -> SearchResult:
        """Match every word (AND), filter, rank or sort, window; facets and a capped count over all hits."""
        units = documents.query_units(query.text or "")
        sql = _Sql(self._rarity() if units else None)
        where = [sql.units(units)]
        for facet, value in sorted(query.filters.items()):
            if facet not in FACETS:
                where.append("FALSE")  # an unknown facet matches nothing rather than everything
            elif value and facet == "availability":
                where.append("available" if str(value) == "available" else "NOT available")
            elif value:
                where.append(f"{facet} = {sql.param(str(value))}")
        condition = " AND ".join(where)
        offset, limit = max(query.offset, 0), max(query.limit, 0)
        with self._connect() as conn:
            if units:
                # Never read every row's tokens: the planner, which does not count their reading (they
                # are out of the row), would otherwise scan the table for a word it expects often.
                conn.execute(text("SET LOCAL enable_seqscan = off"))
            if query.with_facets:
                total, facets = self._facets(conn, condition, sql.params)
            else:
                total = conn.execute(text(f"SELECT count(*) FROM (SELECT 1 FROM search_documents WHERE {condition} "
                                          f"LIMIT {self.count_cap + 1}) hits"), sql.params).scalar_one()
                facets = {}
            few = total <= self.count_cap
            ids = self._window(conn, query, units, condition, sql, offset, limit, total if few else None) if limit and total else []
        capped = total > self.count_cap
        return SearchResult(ids=ids, total=self.count_cap if capped else total, total_is_capped=capped, facets=facets)

    def _rarity(self) -> Rarity:
        """The element statistics of ``tokens`` (``Rarity``), read again every ``STATISTICS_SECONDS``."""
        now = time.monotonic()
        if self._rarity_read is None or now - self._rarity_read.read_at > STATISTICS_SECONDS:
            with self._connect() as conn:
                row = conn.execute(text(
                    "SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs, c.reltuples "
                    "FROM pg_class c JOIN pg_stats s ON s.schemaname = current_schema() AND s.tablename = c.relname AND s.attname = 'tokens' "
                    "WHERE c.oid = to_regclass('search_documents')")).first()
            frequencies = dict(zip(row[0] or (), row[1] or (), strict=False)) if row else {}
            self._rarity_read = Rarity(frequencies, float(row[2]) if row else 0.0, now, min(frequencies.values(), default=0.0) / 2)
        return self._rarity_read

    @staticmethod
    def _window(conn: Connection, query: SearchQuery, units: list[Unit], condition: str, sql: _Sql, offset: int, limit: int,
                exact_total: int | None) -> list[int]:
        """The ids of the page: by a sort's index, or tier by tier for relevance.

        Each tier is its own query ordered by ``newest`` with a LIMIT, so PostgreSQL can walk the
        ``newest`` index and stop after a page when a word matches much of the catalog. When the count
        says the query matches few titles (``exact_total``, no more than the count cap), the order is
        written so that the ``newest`` index cannot serve it: PostgreSQL then reads the few matches
        through the GIN index and sorts them. (It cannot estimate ``&&`` of rare tokens, such as a
        one-kanji query's, and would otherwise walk the whole ``newest`` index looking for them.) No
        query ranks every match. A tier is only asked for once every earlier one was read to its end,
        so the titles of the earlier tiers are left out by their ids, and the tiers stop once every
        match has its place.
        """
        sort = query.sort if query.sort in SORTS else "relevance"
        newest = "newest + 0, title_id" if exact_total is not None else "newest, title_id"
        if sort == "reading" or sort == "newest" or not units:
            order = "reading, title_id" if sort == "reading" else newest
            return list(conn.execute(text(f"SELECT title_id FROM search_documents WHERE {condition} ORDER BY {order} "
                                          f"LIMIT {limit} OFFSET {offset}"), sql.params).scalars())
        ids: list[int] = []
        earlier: list[int] = []
        skip, need = offset, limit
        for tier, exact in PostgresSearch._tiers(query.text or "", sql):
            others = f" AND title_id <> ALL({sql.param(earlier)})" if earlier else ""
            # A whole title or name is never common: its few titles are read through the GIN index, not
            # looked for along the ``newest`` index (reading each row's tokens: 0.9 s for 研究).
            order = "newest + 0, title_id" if exact else newest
            found = list(conn.execute(text(f"SELECT title_id FROM search_documents WHERE {condition} AND {tier}{others} "
                                           f"ORDER BY {order} LIMIT {skip + need}"), sql.params).scalars())
            taken = found[skip:]
            ids += taken
            skip, need = max(skip - len(found), 0), need - len(taken)
            earlier += found
            if need <= 0 or tier == "TRUE" or len(earlier) == exact_total:
                break
        return ids

    @staticmethod
    def _tiers(text_: str, sql: _Sql) -> list[tuple[str, bool]]:
        """Relevance tiers in order, each a condition the GIN index can answer (or its rarest part), and
        whether it is the tier of the whole title or name."""
        exact = [FIELD_LETTERS[f] + t for f, t in documents.exact_clause(text_)]
        pairs = list(zip(documents.query_units(text_, "title"), documents.query_units(text_, "author"), strict=False))
        tiers = [(f"tokens && {sql.param(exact)}", True)] if exact else []
        in_title = sql.units([t for t, _ in pairs])
        in_either = " AND ".join(f"(({sql.units([t])}) OR ({sql.units([a])}))" for t, a in pairs) or "TRUE"
        return [*tiers, (in_title, False), (in_either, False), ("TRUE", False)]

    @staticmethod
    def _facets(conn: Connection, condition: str, params: dict) -> tuple[int, dict[str, dict[str, int]]]:
        """The exact count and every facet's counts, in one pass over the matches (a group per combination)."""
        rows = conn.execute(text(f"SELECT audience, format, language, ndc1, available, count(*) FROM search_documents WHERE {condition} "
                                 "GROUP BY audience, format, language, ndc1, available"), params).all()
        facets: dict[str, dict[str, int]] = {f: {} for f in FACETS}
        total = 0
        for audience, format_, language, ndc1, available, count in rows:
            total += count
            for facet, value in (("audience", audience), ("format", format_), ("language", language), ("ndc1", ndc1),
                                 ("availability", "available" if available else "unavailable")):
                if value:
                    facets[facet][value] = facets[facet].get(value, 0) + count
        return total, facets

    def suggest(self, text_: str, limit: int = 3) -> list[str]:
        """"もしかして" suggestions (``suggestions.suggest``) from the rows of the table."""
        return suggestions.suggest(_Lexicon(self), text_, limit)

    def outdated(self) -> bool:
        """Never: the tables follow the database's migrations."""
        return False

    def status(self) -> dict:
        """Documents indexed; not ok when the table cannot be read (no migration, database down)."""
        try:
            with self._connect() as conn:
                count = conn.execute(select(func.count()).select_from(search_documents)).scalar_one()
        except SearchUnavailable as exc:
            return {"ok": False, "backend": "postgresql", "error": str(exc)}
        return {"ok": True, "backend": "postgresql", "documents": count, "schema_current": True}

    def _connect(self, *, write: bool = False):
        return _Connection(self.engine, write)


class _Connection:
    """A connection in one transaction; database errors become ``SearchUnavailable`` (a 503 page, not a 500)."""

    def __init__(self, engine: Engine, write: bool) -> None:
        self.engine, self.write = engine, write
        self.conn: Connection | None = None

    def __enter__(self) -> Connection:
        try:
            self.conn = self.engine.connect()
            self.conn.begin()
        except DBAPIError as exc:
            raise SearchUnavailable(f"search index unreachable: {exc.__class__.__name__}") from exc
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> bool:
        assert self.conn is not None
        try:
            if exc_type is None and self.write:
                self.conn.commit()
            else:
                self.conn.rollback()
        finally:
            self.conn.close()
        if isinstance(exc, DBAPIError):
            raise SearchUnavailable(f"search index unavailable: {exc.__class__.__name__}") from exc
        return False


class _Lexicon:
    """``suggestions.Lexicon`` over the table: candidates counted with the GIN index."""

    def __init__(self, search: PostgresSearch) -> None:
        self._search = search

    def finds(self, text_: str) -> bool:
        return self._search.search(SearchQuery(text=text_, limit=0, with_facets=False)).total > 0

    def candidate_phrases(self, tokens: list[str], limit: int) -> list[suggestions.Phrase]:
        if not tokens or limit <= 0:
            return []
        alternatives = {tok: [FIELD_LETTERS[f] + tok for f in suggestions.SUGGEST_FIELDS] for tok in tokens}
        with self._search._connect() as conn:
            usable = []
            for alts in alternatives.values():
                n = conn.execute(text(f"SELECT count(*) FROM (SELECT 1 FROM search_documents WHERE tokens && CAST(:alts AS text[]) "
                                      f"LIMIT {suggestions.COMMON + 1}) c"), {"alts": alts}).scalar_one()
                if 0 < n <= suggestions.COMMON:
                    usable.append(alts)
            if not usable:
                return []
            sql = _Sql()
            score = " + ".join(f"(tokens && {sql.param(alts)})::int" for alts in usable)
            anywhere = sql.param([a for alts in usable for a in alts])
            rows = conn.execute(text(f"SELECT phrases FROM search_documents WHERE tokens && {anywhere} "
                                     f"ORDER BY {score} DESC, title_id LIMIT {int(limit)}"), sql.params).scalars()
            return [p for stored in rows for p in suggestions.decode(stored)]

    def terms(self, prefix: str, limit: int) -> list[str]:
        if not prefix:
            return []
        statement = (select(search_terms.c.term).where(search_terms.c.term >= bindparam("lo"), func.starts_with(search_terms.c.term, bindparam("lo")))
                     .order_by(search_terms.c.term).limit(limit))
        with self._search._connect() as conn:
            return list(conn.execute(statement, {"lo": prefix}).scalars())

