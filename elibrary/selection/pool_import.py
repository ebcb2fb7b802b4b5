"""One pool import run for the command and the import page: files → parsers → ``pool.import_pool``.

A transaction boundary like a CLI command: each batch is committed (re-running finishes the job, the
import is idempotent), or nothing at all in a dry run.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from catalog_import.records import Problem
from elibrary.runtime import Runtime
from elibrary.selection.pool import PoolSummary, import_pool
from elibrary.selection.pool_parse import PoolItem, parse_pool_csv, parse_pool_onix

KINDS = ("onix", "csv")
ANALYZE_AFTER = 1_000  # titles added by one import


def tax_rounding(settings) -> str:
    """The city's rounding rule for consumption tax (``ELIBRARY_TAX_ROUNDING``)."""
    return str(settings.get("ELIBRARY_TAX_ROUNDING") or "floor")


def pool_items(kind: str, paths: list[str], rounding: str) -> Iterator[PoolItem | Problem]:
    """Every item of ``paths`` of ``kind`` (``onix`` or ``csv``)."""
    if kind not in KINDS:
        raise ValueError(f"unknown pool import kind {kind!r}")
    for name in paths:
        path = Path(name)
        try:
            stream = open(path, "rb")
        except OSError as exc:
            yield Problem(path.name, f"ファイルを開けません（{exc.strerror or exc}）。", f"The file cannot be opened ({exc.strerror or exc}).", fatal=True)
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
