"""Whether a title has a book file the readers can open (EPUB or PDF).

A licence without a readable file would spend a copy on a book nobody can open, so lending refuses it
(``services.borrow``), the pages say so, and staff see why on the title's lending page.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from elibrary.catalog.models import BookFile

EPUB = "application/epub+zip"
PDF = "application/pdf"
READABLE_TYPES = (EPUB, PDF)


def has_readable_file(session: Session, title_id: int) -> bool:
    """Whether the title has an EPUB or a PDF."""
    found = session.scalar(select(BookFile.id).where(BookFile.title_id == title_id, BookFile.media_type.in_(READABLE_TYPES)).limit(1))
    return found is not None


def readable_titles(session: Session, title_ids: Iterable[int]) -> set[int]:
    """Those of ``title_ids`` that have an EPUB or a PDF (one query)."""
    ids = list(set(title_ids))
    if not ids:
        return set()
    rows = session.scalars(select(BookFile.title_id).where(BookFile.title_id.in_(ids), BookFile.media_type.in_(READABLE_TYPES)).distinct())
    return set(rows)


def readable_file_exists(title_id: ColumnElement) -> ColumnElement[bool]:
    """SQL for "the title ``title_id`` (a column) has an EPUB or a PDF", for statements built once and run often.

    The types are two plain parameters rather than an ``IN`` list, which SQLAlchemy renders anew on every run.
    """
    files = BookFile.__table__
    return exists().where(files.c.title_id == title_id, or_(*(files.c.media_type == media_type for media_type in READABLE_TYPES)))
