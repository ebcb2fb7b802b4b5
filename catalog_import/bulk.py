"""New titles written with Core multi-row INSERTs, not the ORM unit of work: the import's fast path.

An import of a large file is mostly new titles. Building ORM objects and flushing them costs far more
than the rows themselves, so a batch of new titles (no files, no covers) goes in as one ``executemany``
per table. The rows are the catalog's own validated fields (``validate_title_data``), so nothing
written here has skipped a rule the admin's form applies.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from elibrary.catalog.models import Title

_CHUNK = 500  # ids per IN (...)


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
    by_isbn = title_ids_by_isbn(session, [row["isbn"] for row in rows if row.get("isbn")])
    keys: dict[str, list[str]] = {}
    for row in rows:
        if not row.get("isbn"):
            keys.setdefault(row["source"], []).append(row["source_record_id"])
    by_key = {(source, key): title_id for source, ids in keys.items() for key, title_id in title_ids_by_record(session, source, ids).items()}
    return [by_isbn[row["isbn"]] if row.get("isbn") else by_key[(row["source"], row["source_record_id"])] for row in rows]


def title_ids_by_isbn(session: Session, isbns: Iterable[str]) -> dict[str, int]:
    """The ids of the titles with these ISBNs."""
    isbns, found = list(isbns), {}
    for start in range(0, len(isbns), _CHUNK):
        found.update(session.execute(select(Title.isbn, Title.id).where(Title.isbn.in_(isbns[start:start + _CHUNK]))).all())
    return found


def title_ids_by_record(session: Session, source: str, keys: Iterable[str]) -> dict[str, int]:
    """The ids of the titles of ``source`` with these record ids.

    One query per source with ``source_record_id IN (...)``: SQLite scans the whole table for a row-value
    ``(source, source_record_id) IN (...)``, but searches the index for this form.
    """
    keys, found = list(keys), {}
    for start in range(0, len(keys), _CHUNK):
        found.update(session.execute(select(Title.source_record_id, Title.id)
                                     .where(Title.source == source, Title.source_record_id.in_(keys[start:start + _CHUNK]))).all())
    return found


def insert_rows(session: Session, model, rows: list[dict]) -> None:
    """One ``executemany`` of ``rows`` into ``model``'s table (column defaults applied by Core)."""
    if rows:
        session.execute(insert(model.__table__), rows)
