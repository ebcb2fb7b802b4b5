"""The pool's word index on PostgreSQL: the characters and character pairs of each title's ``search_text``.

A pool search matches each word as a substring of ``search_text`` (``selection.search``). On PostgreSQL
a substring test walks every row; with this table, a GIN index over each title's characters and
character pairs finds the titles holding all the pairs of a word, and when they are few (``FEW``) the
substring test only checks those; a word most titles hold is still matched by reading every row. The
answers are the same; only the time changes. SQLite keeps its plain substring search (``instr``). The table is created by migration ``0130_search_pg``
on PostgreSQL only and filled there from the pool titles already imported.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, Table, Text, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from elibrary.selection.models import PoolTitle

metadata = MetaData()
pool_grams = Table(
    "selection_pool_grams", metadata,
    Column("pool_title_id", Integer, ForeignKey(PoolTitle.__table__.c.id, ondelete="CASCADE"), primary_key=True),
    Column("grams", ARRAY(Text), nullable=False),
    Index("ix_selection_pool_grams", "grams", postgresql_using="gin"),
)

# The characters and pairs of characters of a search text, computed by PostgreSQL itself (the migration
# fills the table with it; imports refresh the titles of each batch).
GRAMS_OF_SEARCH_TEXT = (
    "ARRAY(SELECT DISTINCT substr(t.search_text, i, n) FROM generate_series(1, length(t.search_text)) AS i, "
    "(VALUES (1), (2)) AS width(n) WHERE i + n - 1 <= length(t.search_text))"
)
_REFRESH = text(
    f"INSERT INTO selection_pool_grams (pool_title_id, grams) SELECT t.id, {GRAMS_OF_SEARCH_TEXT} "
    "FROM selection_pool_titles AS t WHERE t.id = ANY(:ids) "
    "ON CONFLICT (pool_title_id) DO UPDATE SET grams = excluded.grams"
)


def uses_grams(session: Session) -> bool:
    """Whether this database keeps the pool's word index (PostgreSQL)."""
    return session.get_bind().dialect.name == "postgresql"


def refresh(session: Session, pool_title_ids: Iterable[int]) -> None:
    """Recompute the index rows of these pool titles from their ``search_text`` (PostgreSQL only)."""
    ids = sorted(set(pool_title_ids))
    if ids and uses_grams(session):
        session.execute(_REFRESH, {"ids": ids})


def settle(session: Session) -> None:
    """After a large import (PostgreSQL only): fresh statistics for the index, and its pending list merged."""
    if uses_grams(session):
        session.execute(text("ANALYZE selection_pool_grams"))
        session.execute(text("SELECT gin_clean_pending_list('ix_selection_pool_grams')"))


def rebuild_on(connection) -> int:
    """Fill the index for every pool title (after restoring a backup from a database that keeps none); PostgreSQL only."""
    if connection.dialect.name != "postgresql":
        return 0
    ids = list(connection.execute(select(PoolTitle.id)).scalars())
    if ids:
        connection.execute(_REFRESH, {"ids": ids})
    return len(ids)


def word_grams(folded: str) -> list[str]:
    """What a word's rows must hold: its pairs of characters (or the character itself, for one character)."""
    if len(folded) == 1:
        return [folded]
    return sorted({folded[i:i + 2] for i in range(len(folded) - 1)})


# A word held by more titles than this is matched by reading every row instead (the index would visit most pages).
FEW = 1000


def few_holding(session: Session, folded: str) -> list[int] | None:
    """The ids of the pool titles whose search text holds every pair of ``folded`` (a superset of the
    substring matches), or None when there are more than ``FEW`` of them."""
    ids = list(session.scalars(select(pool_grams.c.pool_title_id).where(pool_grams.c.grams.contains(word_grams(folded))).limit(FEW + 1)))
    return ids if len(ids) <= FEW else None
