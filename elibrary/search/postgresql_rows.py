"""The PostgreSQL search backend's tables and the writes the application makes in its own transactions.

``search.postgresql`` searches them and rebuilds them; this module holds what a title's transaction writes:
its document row (``write_documents``), its availability alone (``set_availability``), and the one-title
statements a lending statement carries (``SET_ONE_AVAILABLE``) or reads (``ONE_AVAILABLE``).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import DDL, Boolean, Column, Index, Integer, MetaData, Table, Text, any_, bindparam, delete, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.engine import Connection

from elibrary.search import analysis, documents, suggestions
from elibrary.search.base import SearchDocument

FIELD_LETTERS = {"text": "x", "title": "t", "author": "a", "uni": "u"}
WRITE_BATCH = 500

metadata = MetaData()
search_documents = Table(
    "search_documents", metadata,
    Column("title_id", Integer, primary_key=True, autoincrement=False),
    # Moved out of the row (TOAST) with ``phrases``: a row is then ~150 bytes, so counting the facets of
    # thousands of matches reads a few thousand pages, not one page each. Only the GIN index reads it,
    # and the checks of the few candidates a query's rarest tokens leave (``_Sql``).
    Column("tokens", ARRAY(Text), nullable=False),
    # No longer written or read (0160_pgsearch): the relevance tiers are GIN conditions. Kept so that
    # backups from before restore.
    Column("rank_tokens", ARRAY(Text), nullable=False, server_default="{}"),
    Column("audience", Text, nullable=False, server_default=""),
    Column("format", Text, nullable=False, server_default=""),
    Column("language", Text, nullable=False, server_default=""),
    Column("ndc1", Text, nullable=False, server_default=""),
    Column("available", Boolean, nullable=False, server_default="true"),
    Column("newest", Integer, nullable=False, server_default="0"),  # -YYYYMMDD, 0 when undated (last)
    Column("reading", Text(collation="C"), nullable=False, server_default=""),  # 五十音順, byte order; kept in the row (STORAGE MAIN)
    Column("phrases", Text, nullable=False, server_default=""),  # もしかして: suggestions.encode
    Index("ix_search_documents_tokens", "tokens", postgresql_using="gin", postgresql_with={"fastupdate": "off"}),
    # Pages in these orders are read from the start of an index when a query matches much of the catalog.
    Index("ix_search_documents_newest", "newest", "title_id"),
    Index("ix_search_documents_reading", "reading", "title_id"),
    # Room on each page, so that a change of availability alone is a HOT update: no new GIN entries;
    # large values leave the row until it is under 128 bytes.
    postgresql_with={"fillfactor": "70", "toast_tuple_target": "128"},
    # The sort key stays in the row (never moved out) however small the target.
    listeners=[("after_create", DDL("ALTER TABLE search_documents ALTER COLUMN reading SET STORAGE MAIN"))],
)
COLUMNS = [c.name for c in search_documents.c if c.name != "rank_tokens"]  # what a row writes (not the retired rank_tokens)
# Title and author words that do not start with a kanji or kana, for the もしかして of a Latin word. Words
# of titles since withdrawn may stay: every suggestion is checked to find something before it is offered.
search_terms = Table("search_terms", metadata, Column("term", Text(collation="C"), primary_key=True))


def document_row(doc: SearchDocument) -> dict:
    """The ``search_documents`` row of a document."""
    fields = documents.field_tokens(doc)
    tokens = [FIELD_LETTERS[field] + tok for field, toks in fields.items() for tok in toks]
    row = {"title_id": doc.id, "tokens": tokens, "newest": documents.newest_key(doc)[0], "reading": documents.reading_key(doc),
           "phrases": suggestions.encode(suggestions.phrases(doc))}
    facets = documents.facet_values(doc)
    row.update({facet: facets[facet] for facet in ("audience", "format", "language", "ndc1")})
    row["available"] = facets["availability"] == "available"
    return row


def terms_of(doc_rows: Iterable[dict]) -> list[dict]:
    """The ``search_terms`` rows of document rows: their Latin title and author words."""
    words = {tok[1:] for row in doc_rows for tok in row["tokens"] if tok[0] in "ta" and len(tok) > 1 and not analysis.is_cjk(tok[1])}
    return [{"term": w} for w in sorted(words)]


def write_documents(connection: Connection, docs: Sequence[SearchDocument], deleted: Iterable[int] = ()) -> None:
    """Upsert ``docs`` and delete ``deleted`` in the caller's transaction (the title's own, in the app)."""
    gone = sorted(set(deleted))
    if gone:
        connection.execute(delete(search_documents).where(search_documents.c.title_id.in_(gone)))
    for start in range(0, len(docs), WRITE_BATCH):
        rows = [document_row(doc) for doc in docs[start:start + WRITE_BATCH]]
        statement = insert(search_documents)
        connection.execute(statement.on_conflict_do_update(
            index_elements=[search_documents.c.title_id],
            set_={c: statement.excluded[c] for c in COLUMNS if c != "title_id"},
        ), rows)
        if terms := terms_of(rows):
            connection.execute(insert(search_terms).on_conflict_do_nothing(), terms)


# One prepared statement for every call (it runs in every lending transaction): the ids as one array parameter.
_SET_AVAILABLE = (
    search_documents.update()
    .where(search_documents.c.title_id == any_(bindparam("title_ids", type_=ARRAY(Integer))), search_documents.c.available != bindparam("flag"))
    .values(available=bindparam("flag"))
)


# One title's, carried by a lending statement as a ``WITH`` part (``TransactionIndex.availability_statement``).
SET_ONE_AVAILABLE = (
    search_documents.update()
    .where(search_documents.c.title_id == bindparam("index_title_id", type_=Integer),
           search_documents.c.available != bindparam("index_available", type_=Boolean))
    .values(available=bindparam("index_available", type_=Boolean))
)

# What the index holds for one title, for a lending statement to read beside what it changes.
ONE_AVAILABLE = select(search_documents.c.available).where(search_documents.c.title_id == bindparam("index_title_id", type_=Integer)).scalar_subquery()


def set_availability(connection: Connection, available: Mapping[int, bool]) -> None:
    """Change only whether titles have a copy free now (a loan or a hold changed nothing else of them)."""
    for flag in (True, False):
        ids = sorted(i for i, value in available.items() if value is flag)
        if ids:
            connection.execute(_SET_AVAILABLE, {"title_ids": ids, "flag": flag})
