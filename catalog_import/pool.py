"""One pool import run for the command and the import page: files → parsers (``pool_parse``) →
``elibrary.selection.pool.import_pool``; and the ISBNs of a distributor's delivery file for receiving.

A transaction boundary like a CLI command: each batch is committed (re-running finishes the job, the
import is idempotent), or nothing at all in a dry run.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from catalog_import.pool_parse import parse_pool_csv, parse_pool_onix
from catalog_import.tabular import detect_encoding, header_key
from elibrary.catalog.isbn import is_valid_isbn, normalize_isbn
from elibrary.errors import InvalidInput
from elibrary.runtime import Runtime
from elibrary.selection.items import PoolItem, PoolProblem
from elibrary.selection.money import tax_rounding
from elibrary.selection.pool import PoolSummary, import_pool

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
            if summary.titles_added >= ANALYZE_AFTER and session.get_bind().dialect.name == "sqlite":
                # SQLite keeps no statistics by itself; without them it picks the wrong index for pool searches.
                session.execute(text("ANALYZE selection_pool_titles"))
                session.execute(text("ANALYZE selection_pool_offers"))
                session.commit()
        return summary
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def delivered_isbns(data: bytes) -> list[str]:
    """The valid ISBNs of a delivery file's ISBN column (header ISBN, ISBN13 or ISBNコード; UTF-8 or cp932)."""
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
