"""New titles written with Core multi-row INSERTs, not the ORM unit of work: the import's fast path.

An import of a large file is mostly new titles. Building ORM objects and flushing them costs far more
than the rows themselves, so a batch of new titles (no files, no covers) goes in as one ``executemany``
per table. The rows are the catalog's own validated fields (``validate_title_data``), so nothing
written here has skipped a rule the admin's form applies.
"""
from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from elibrary.catalog.models import Title


def insert_titles(session: Session, rows: list[dict]) -> list[int]:
    """Insert ``rows`` into ``titles``; returns their ids in the order of ``rows``.

    PostgreSQL returns the ids of a multi-row INSERT in parameter order. SQLite cannot promise that
    order, and SQLAlchemy then sends one INSERT per row; there the rows go in with one ``executemany``
    and their ids are read back by ISBN, or by source and record id (each new title has one of them,
    unique within the batch: ``Importer`` splits a batch where a book repeats).
    """
    table = Title.__table__
    if session.get_bind().dialect.name != "sqlite":
        return list(session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars())
    session.execute(insert(table), rows)
    isbns = [row["isbn"] for row in rows if row.get("isbn")]
    keys: dict[str, list[str]] = {}
    for row in rows:
        if not row.get("isbn"):
            keys.setdefault(row["source"], []).append(row["source_record_id"])
    by_isbn, by_key = {}, {}
    for start in range(0, len(isbns), 500):
        by_isbn.update(session.execute(select(table.c.isbn, table.c.id).where(table.c.isbn.in_(isbns[start:start + 500]))).all())
    for source, ids in keys.items():  # per source: SQLite searches the index for this, not for a row-value IN
        for start in range(0, len(ids), 500):
            found = session.execute(select(table.c.source_record_id, table.c.id)
                                    .where(table.c.source == source, table.c.source_record_id.in_(ids[start:start + 500])))
            by_key.update({(source, key): title_id for key, title_id in found})
    return [by_isbn[row["isbn"]] if row.get("isbn") else by_key[(row["source"], row["source_record_id"])] for row in rows]


def insert_rows(session: Session, model, rows: list[dict]) -> None:
    """One ``executemany`` of ``rows`` into ``model``'s table (column defaults applied by Core)."""
    if rows:
        session.execute(insert(model.__table__), rows)
