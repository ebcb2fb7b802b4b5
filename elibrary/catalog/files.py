"""Book files (EPUB, PDF) of a title, stored once under ``books/{title_id}/{sha256}.{ext}``."""
from __future__ import annotations

import hashlib
import tempfile
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.catalog.models import BookFile, BookFormat, Title
from elibrary.errors import InvalidInput
from elibrary.storage.base import BookStorage

EPUB = "application/epub+zip"
PDF = "application/pdf"
EXTENSIONS = {EPUB: "epub", PDF: "pdf"}
MAGIC = {EPUB: b"PK\x03\x04", PDF: b"%PDF-"}
MAX_BOOK_BYTES = 1024 * 1024 * 1024  # 1 GiB: larger than any e-book, small enough to refuse a runaway upload
CHUNK = 1024 * 1024


class InvalidBookFile(InvalidInput):
    """An upload that is not a book file we can keep."""

    code = "invalid-book-file"
    message_ja = "電子書籍ファイル（EPUBまたはPDF）として読み込めません。"
    message_en = "The file is not a readable e-book (EPUB or PDF)."


def size_text(size: int) -> str:
    """A byte count for messages: ``10 MB``, ``500 KB``."""
    return f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"


def book_file_key(title_id: int, sha256: str, media_type: str) -> str:
    """Storage key of a book file: from ids and the content hash, never from names."""
    return f"books/{title_id}/{sha256}.{EXTENSIONS[media_type]}"


def _spool(stream: BinaryIO, media_type: str, max_bytes: int) -> tuple[BinaryIO, str, int]:
    """Copy ``stream`` to a temporary file while hashing it; checks size and magic bytes."""
    digest = hashlib.sha256()
    size = 0
    spool = tempfile.TemporaryFile()
    try:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                limit = size_text(max_bytes)
                raise InvalidBookFile(f"ファイルが大きすぎます（上限 {limit}）。", f"The file is too large (limit {limit}).", field="file")
            digest.update(chunk)
            spool.write(chunk)
        spool.seek(0)
        if spool.read(len(MAGIC[media_type])) != MAGIC[media_type]:
            kind = "EPUB" if media_type == EPUB else "PDF"
            raise InvalidBookFile(f"{kind}ファイルではありません。", f"This is not a {kind} file.", field="file")
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool, digest.hexdigest(), size


def attach_book_file(
    session: Session,
    storage: BookStorage,
    title: Title,
    stream: BinaryIO,
    media_type: str,
    *,
    layout: str | None = None,
    page_progression: str | None = None,
    check_report: list | None = None,
    max_bytes: int = MAX_BOOK_BYTES,
) -> BookFile:
    """Store a book file of ``title`` and record it; an identical upload returns the existing record.

    ``layout`` ("reflowable" or "pre-paginated") and ``page_progression`` default from the title's
    format and progression. The object is written before the row: if the transaction later rolls
    back, an unreferenced file may remain (content-addressed, so harmless and reused on retry).
    """
    if media_type not in EXTENSIONS:
        raise InvalidBookFile("EPUBまたはPDFのファイルを選んでください。", "Choose an EPUB or PDF file.", field="file")
    layout = layout or ("pre-paginated" if title.format == BookFormat.epub_fixed or media_type == PDF else "reflowable")
    if layout not in ("reflowable", "pre-paginated"):
        raise InvalidInput("レイアウトの値が正しくありません。", "Unknown layout.", field="layout")
    page_progression = page_progression or title.page_progression or "ltr"
    if page_progression not in ("ltr", "rtl"):
        raise InvalidInput("ページ送りの方向は ltr または rtl です。", "Page progression must be ltr or rtl.", field="page_progression")
    spool, sha256, size = _spool(stream, media_type, max_bytes)
    with spool:
        if title.id is None:
            session.flush()
        key = book_file_key(title.id, sha256, media_type)
        existing = session.scalar(select(BookFile).where(BookFile.storage_key == key))
        if existing is not None:
            return existing
        if not storage.exists(key):
            storage.put(key, spool)
    book_file = BookFile(
        title=title,
        storage_key=key,
        sha256=sha256,
        size=size,
        media_type=media_type,
        layout=layout,
        page_progression=page_progression,
        check_report=list(check_report or []),
    )
    session.add(book_file)
    session.flush()
    return book_file


def remove_book_file(session: Session, book_file: BookFile) -> None:
    """Forget a book file; the stored object stays until a storage sweep (a loan may be reading it)."""
    session.delete(book_file)
    session.flush()


def open_book_file(storage: BookStorage, book_file: BookFile) -> BinaryIO:
    """A stream of the stored file."""
    return storage.open(book_file.storage_key)
