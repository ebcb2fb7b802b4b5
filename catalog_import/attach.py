"""The files of import records: a record's book file and cover, checked before a batch's transaction and
stored in it (``apply.Importer``).

A batch's transaction copies its records' files into storage, and on SQLite every sign-in and loan waits for
it, so records carrying files go in smaller batches (``FILE_BATCH``, ``FILE_BATCH_BYTES``: about 0.5 s of
work each), and decoding a cover to check it (tens of ms for a large one) happens before the batch begins.
"""
from __future__ import annotations

import logging
import os

from sqlalchemy.orm import Session

from catalog_import.records import ImportRecord
from elibrary.catalog import covers, files
from elibrary.catalog.models import Title
from elibrary.errors import DomainError
from elibrary.storage.base import BookStorage

log = logging.getLogger(__name__)

FILE_BATCH = 25
FILE_BATCH_BYTES = 256 * 1024 * 1024


def check_cover(record: ImportRecord) -> str | None:
    """The record's cover image format (``covers.inspect_cover``), or None if it has none or it is not usable."""
    if not record.cover_image:
        return None
    try:
        return covers.inspect_cover(record.cover_image)
    except DomainError as exc:
        log.info("cover of %s not used: %s", record.label, exc.message_en)
        return None


def file_bytes(record: ImportRecord, cover_format: str | None) -> int:
    """How much a batch's transaction will copy for this record (0 if nothing, at least 1 otherwise)."""
    if not (record.file_path or cover_format):
        return 0
    try:
        size = os.path.getsize(record.file_path) if record.file_path else 0
    except OSError:
        size = 0  # reported when the record is written
    return max(1, size + (len(record.cover_image) if cover_format else 0))


def attach_files(session: Session, storage: BookStorage, record: ImportRecord, cover_format: str | None, title: Title) -> bool:
    """Store the record's EPUB and its checked cover for ``title``; True when something new was stored."""
    changed = False
    if record.file_path:
        before = {f.storage_key for f in title.files} if title.id else set()
        with open(record.file_path, "rb") as stream:
            book = files.attach_book_file(session, storage, title, stream, files.EPUB, layout=record.layout,
                                          page_progression=record.page_progression, check_report=record.check_report)
        if record.check_report is not None and book.check_report != record.check_report:
            book.check_report = list(record.check_report)
        changed = book.storage_key not in before
    if cover_format:
        old = title.cover_key
        covers.store_cover(session, storage, title, record.cover_image, cover_format)
        changed |= title.cover_key != old
    return changed
