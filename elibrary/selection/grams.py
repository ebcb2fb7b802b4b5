"""The pool's word index on PostgreSQL: the characters and character pairs of each title's ``search_text``.

A pool search matches each word as a substring of ``search_text`` (``selection.search``). On PostgreSQL
a substring test walks every row; with this table, a GIN index over each title's characters and
character pairs narrows the rows to those holding all the pairs of the word first, and the substring
test then only checks those. The answers are the same; only the time changes. SQLite keeps its plain
substring search (``instr``), which is fast there. The table is created by migration ``0130_search_pg``
on PostgreSQL only and filled there from the pool titles already imported.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, Text, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

metadata = MetaData()
pool_grams = Table(
    "selection_pool_grams", metadata,
    Column("pool_title_id", Integer, ForeignKey("selection_pool_titles.id", ondelete="CASCADE"), primary_key=True),
    Column("grams", ARRAY(Text), nullable=False),
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


def word_grams(folded: str) -> list[str]:
    """What a word's rows must hold: its pairs of characters (or the character itself, for one character)."""
    if len(folded) == 1:
        return [folded]
    return sorted({folded[i:i + 2] for i in range(len(folded) - 1)})


def holding(folded: str):
    """The pool title ids whose search text holds every pair of ``folded`` (a superset of the substring matches)."""
    return select(pool_grams.c.pool_title_id).where(pool_grams.c.grams.contains(word_grams(folded)))
