"""One pool import run for the command and the import page: files → parsers (``pool_parse``) →
``elibrary.selection.pool.import_pool``; and, for receiving, the ISBNs of a distributor's delivery notice
(ONIX or CSV) and the book files delivered with it.

A transaction boundary like a CLI command: each batch is committed (re-running finishes the job, the
import is idempotent), or nothing at all in a dry run.
"""
from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from catalog_import.epub import parse_epub
from catalog_import.pool_parse import parse_pool_csv, parse_pool_onix
from catalog_import.records import ImportRecord
from catalog_import.tabular import detect_encoding, header_key
from elibrary.catalog.files import EPUB, MAX_BOOK_BYTES, PDF
from elibrary.catalog.isbn import is_valid_isbn, normalize_isbn
from elibrary.errors import InvalidInput
from elibrary.runtime import Runtime
from elibrary.selection import grams
from elibrary.selection.items import PoolItem, PoolProblem
from elibrary.selection.money import tax_rounding
from elibrary.selection.pool import PoolSummary, import_pool
from elibrary.selection.receiving import DeliveredBook

KINDS = ("onix", "csv")
ANALYZE_AFTER = 1_000  # titles added by one import


def pool_items(kind: str, paths: list[str], rounding: str) -> Iterator[PoolItem | PoolProblem]:
    """Every item of ``paths`` of ``kind`` (``onix`` or ``csv``)."""
    if kind not in KINDS:
        raise ValueError(f"unknown pool import kind {kind!r}")
    for name in paths:
        path = Path(name)
        try:
            stream = open(path, "rb")
        except OSError as exc:
            yield PoolProblem(path.name, f"ファイルを開けません（{exc.strerror or exc}）。", f"The file cannot be opened ({exc.strerror or exc}).", fatal=True)
            continue
        with stream:
            if kind == "onix":
                yield from parse_pool_onix(stream, rounding)
            else:
                yield from parse_pool_csv(stream, path.name, rounding)


def run_pool_import(rt: Runtime, kind: str, paths: list[str], *, dry_run: bool = False) -> PoolSummary:
    """Import distributor files into the pool, committing batch by batch (or nothing, dry)."""
    session = rt.db.session(write=True)
    try:
        def commit(batch_session) -> None:
            if not dry_run:
                batch_session.commit()

        summary = import_pool(session, pool_items(kind, paths, tax_rounding(rt.settings)), on_batch=commit)
        if dry_run:
            session.rollback()
        else:
            session.commit()
            if summary.titles_added >= ANALYZE_AFTER:
                # SQLite keeps no statistics by itself, and PostgreSQL's autovacuum comes minutes later: without
                # them both pick the wrong plans for pool searches. PostgreSQL's word index also holds the new
                # titles in a pending list that every search reads through until it is merged.
                session.execute(text("ANALYZE selection_pool_titles"))
                session.execute(text("ANALYZE selection_pool_offers"))
                grams.settle(session)
                session.commit()
        return summary
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def delivered_isbns(data: bytes) -> list[str]:
    """The valid ISBNs a distributor's delivery file names: an ONIX 3 message (its products, not deletions), or a
    CSV/TSV with an ISBN column (header ISBN, ISBN13 or ISBNコード; UTF-8 or cp932)."""
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return _onix_isbns(data)
    text = data.decode(detect_encoding(data[:65536]), errors="replace")
    first = text.split("\n", 1)[0]
    rows = list(csv.reader(io.StringIO(text), delimiter="\t" if first.count("\t") > first.count(",") else ","))
    if not rows:
        raise InvalidInput("納品ファイルが空です。", "The delivery file is empty.", field="file")
    header = [header_key(h) for h in rows[0]]
    column = next((i for i, h in enumerate(header) if h in ("isbn", "isbn13", "isbnコード")), None)
    if column is None:
        raise InvalidInput("納品ファイルに ISBN の列がありません。", "The delivery file has no ISBN column.", field="file")
    found = []
    for row in rows[1:]:
        cell = row[column].strip().replace("-", "") if len(row) > column else ""
        if cell and is_valid_isbn(cell):
            found.append(normalize_isbn(cell))
    return found


def _onix_isbns(data: bytes) -> list[str]:
    """The ISBNs of an ONIX delivery notice's products; a malformed or unsafe file is refused as a whole."""
    found = []
    for item in parse_pool_onix(io.BytesIO(data)):
        if isinstance(item, PoolProblem):
            if item.fatal:
                raise InvalidInput(f"納品ファイル（ONIX）を読めません: {item.reason_ja}",
                                   f"The ONIX delivery file cannot be read: {item.reason_en}", field="file")
            continue
        if item.record.isbn and not item.record.withdrawn:
            found.append(item.record.isbn)
    return found


def delivered_books(paths: list[Path]) -> tuple[dict[str, DeliveredBook], list[str]]:
    """The book files of a delivery by ISBN (an EPUB's own identifier, else the file name ``9784….epub|pdf``),
    and a Japanese line for each file that could not be used. Nothing is stored here."""
    books: dict[str, DeliveredBook] = {}
    problems: list[str] = []
    for path in paths:
        suffix = path.suffix.lower()
        stem = path.stem.replace("-", "")
        by_name = normalize_isbn(stem) if is_valid_isbn(stem) else None
        if suffix == ".epub":
            parsed = next(iter(parse_epub(path)), None)
            if not isinstance(parsed, ImportRecord):
                reason = parsed.reason_ja if parsed is not None else "EPUBとして読めません"
                problems.append(f"{path.name}: {reason}")
                continue
            isbn = parsed.isbn or by_name
            book = DeliveredBook(path, EPUB, parsed.layout, parsed.page_progression, parsed.check_report)
        elif suffix == ".pdf":
            isbn, book = by_name, DeliveredBook(path, PDF)
        else:
            problems.append(f"{path.name}: EPUBまたはPDFではありません")
            continue
        if not isbn:
            problems.append(f"{path.name}: ISBNが分かりません（ファイル名をISBNにしてください）")
        elif isbn in books:
            problems.append(f"{path.name}: 同じISBN {isbn} のファイルが複数あります")
        else:
            books[isbn] = book
    return books, problems


def unpack_books(upload: Path, folder: Path, *, max_files: int = 500) -> list[Path]:
    """The EPUB and PDF files of an uploaded ZIP, written flat into ``folder`` (names reduced to their last part,
    sizes bounded); a single book file is returned as it is."""
    if upload.suffix.lower() != ".zip":
        return [upload]
    try:
        archive = zipfile.ZipFile(upload)
    except zipfile.BadZipFile:
        raise InvalidInput("ZIPファイルとして読めません。", "The ZIP file cannot be read.", field="books") from None
    paths: list[Path] = []
    with archive:
        for info in archive.infolist():
            name = Path(info.filename.replace("\\", "/")).name
            if info.is_dir() or Path(name).suffix.lower() not in (".epub", ".pdf") or name.startswith("."):
                continue
            if len(paths) >= max_files or info.file_size > MAX_BOOK_BYTES:
                raise InvalidInput("ZIPの中の本が多すぎるか、大きすぎます。", "Too many or too large books in the ZIP.", field="books")
            target = folder / name if not (folder / name).exists() else folder / f"{len(paths):04d}-{name}"
            with archive.open(info) as source, open(target, "wb") as out:
                _copy(source, out)
            paths.append(target)
    return paths


def _copy(source, out) -> int:
    """Copy at most ``MAX_BOOK_BYTES`` (a ZIP entry may lie about its size)."""
    total = 0
    while chunk := source.read(1 << 20):
        total += len(chunk)
        if total > MAX_BOOK_BYTES:
            raise InvalidInput("ZIPの中の本が大きすぎます。", "A book in the ZIP is too large.", field="books")
        out.write(chunk)
    return total
