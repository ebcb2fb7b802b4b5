"""One import run: files → parser → apply → commits in batches → search index, for the CLI and the admin page.

This is a transaction boundary like a CLI command: each batch is committed (a crash loses at most one
batch, and re-running the import finishes the job, since it is idempotent), or, in a dry run, everything
is rolled back at the end. The search index is not touched per batch: the titles written are queued in
``search_queue`` by the usual flush hook, and at the end a large import rebuilds the index once while a
small one has its queue processed (in batches of ``indexing.BATCH``).
"""
from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from sqlalchemy.orm import Session, sessionmaker

from catalog_import.ahead import parsed_ahead
from catalog_import.apply import Importer, ImportSummary, known_hashes
from catalog_import.epub import epub_paths, parse_epub
from catalog_import.marc import parse_marc
from catalog_import.onix import parse_onix
from catalog_import.onix_validate import schema_path, validate_onix
from catalog_import.records import ImportRecord, ParsedItem, Problem
from catalog_import.report import ReportWriter
from catalog_import.tabular import parse_tabular
from elibrary.catalog import indexing
from elibrary.db import Database
from elibrary.runtime import Runtime

log = logging.getLogger(__name__)

KINDS = ("onix", "marc", "epub", "csv")
REBUILD_AT = 5_000  # titles written: from here on, one rebuild beats updating documents batch by batch
MAX_LOCAL_COVER = 10 * 1024 * 1024
PARSE_AHEAD_FROM = 8 * 1024 * 1024  # bytes of ONIX (about 3,000 products): parsed in a second process (``ahead``)


def items_of(kind: str, paths: list[str], *, validate: bool = False, epubcheck: bool = False,
             schema_folder: str | None = None, known: Mapping[str, int] | None = None) -> Iterator[ParsedItem]:
    """Every parsed item of ``paths``; positions are prefixed with the file name when there are several.

    ``known`` (ONIX): source hashes of earlier imports and their titles; those products come as ``KnownRecord``.
    """
    if kind == "epub":
        for path in epub_paths(paths):
            yield from parse_epub(path, epubcheck=epubcheck)
        return
    for name in paths:
        path = Path(name)
        prefix = f"{path.name} " if len(paths) > 1 else ""
        try:
            stream = open(path, "rb")
        except OSError as exc:
            yield Problem(path.name, f"ファイルを開けません（{exc.strerror or exc}）。", f"The file cannot be opened ({exc.strerror or exc}).", fatal=True)
            continue
        with stream:
            if kind == "onix" and validate:
                problems = validate_onix(stream, schema_path(schema_folder))
                if problems:
                    yield from (_prefixed(p, prefix) for p in problems)
                    continue
                stream.seek(0)
            if kind == "onix" and path.stat().st_size >= PARSE_AHEAD_FROM:
                parsed = parsed_ahead("onix", str(path), known)
            else:
                parsed = _parse(kind, stream, path.name, known)
            for item in parsed:
                if kind == "onix" and isinstance(item, ImportRecord):
                    attach_local_cover(item, path.parent)
                yield _prefixed(item, prefix)


def _parse(kind: str, stream, name: str, known: Mapping[str, int] | None = None) -> Iterator[ParsedItem]:
    if kind == "onix":
        return parse_onix(stream, known)
    if kind == "marc":
        return parse_marc(stream)
    if kind == "csv":
        return parse_tabular(stream, name=name)
    raise ValueError(f"unknown import kind {kind!r}")


def _prefixed(item: ParsedItem, prefix: str) -> ParsedItem:
    if not prefix:
        return item
    if isinstance(item, Problem):
        return replace(item, position=prefix + item.position)
    item.position = prefix + item.position
    return item


def attach_local_cover(record: ImportRecord, folder: Path) -> None:
    """A cover named by a relative path in the ONIX (a file sent beside it) is read, if it stays in ``folder``."""
    link = record.cover_url or ""
    if not link or "://" in link or link.startswith(("/", "\\")) or ".." in link.replace("\\", "/").split("/"):
        return
    base = folder.resolve()
    candidate = (base / link).resolve()
    if base not in candidate.parents or not candidate.is_file() or candidate.stat().st_size > MAX_LOCAL_COVER:
        return
    record.cover_image = candidate.read_bytes()


_FACTORIES: "weakref.WeakKeyDictionary[Database, sessionmaker]" = weakref.WeakKeyDictionary()


def import_session(db: Database) -> Session:
    """A writing session that queues touched titles in ``search_queue`` but runs no after-commit tasks.

    The application's sessions kick the indexer after every commit, and SQLAlchemy reports the release
    of each SAVEPOINT as a commit too: during an import that would index (and hold SQLite's write
    lock) once per batch, against the import itself. The queue is processed once, at the end.
    """
    factory = _FACTORIES.get(db)
    if factory is None:
        factory = _FACTORIES[db] = sessionmaker(bind=db.write_engine, expire_on_commit=False)
        indexing.watch_changes(factory)
    return factory()


def run_import(
    rt: Runtime,
    kind: str,
    paths: list[str],
    *,
    dry_run: bool = False,
    validate: bool = False,
    epubcheck: bool = False,
    report: TextIO | None = None,
    progress: Callable[[int], None] | None = None,
    index: str = "inline",
) -> ImportSummary:
    """Import ``paths`` of ``kind``; ``index`` is ``inline`` (CLI: index now) or ``kick`` (web: the indexer thread)."""
    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r}")
    started = time.perf_counter()
    summary = _apply(rt, kind, paths, dry_run=dry_run, validate=validate, epubcheck=epubcheck, report=report, progress=progress)
    summary.import_seconds = time.perf_counter() - started
    if not dry_run and summary.touched:
        started = time.perf_counter()
        update_index(rt, summary.touched, index=index)
        summary.index_seconds = time.perf_counter() - started
    return summary


def _apply(rt: Runtime, kind: str, paths: list[str], *, dry_run: bool, validate: bool, epubcheck: bool,
           report: TextIO | None, progress: Callable[[int], None] | None) -> ImportSummary:
    """Parse and apply ``paths`` in one import session, committing batch by batch (or nothing, dry)."""
    writer = ReportWriter(report) if report is not None else None
    session = import_session(rt.db)
    try:
        # About 100 bytes a title, freed before indexing; an unchanged product then costs a hash and a lookup.
        known = known_hashes(session, kind) if kind == "onix" else None
        items = items_of(kind, paths, validate=validate, epubcheck=epubcheck,
                         schema_folder=rt.settings.get("ELIBRARY_ONIX_SCHEMA_PATH"), known=known)

        def commit(batch_session: Session) -> None:
            if not dry_run:
                batch_session.commit()

        importer = Importer(session, rt.storage, dry_run=dry_run, on_batch=commit,
                            on_problem=writer.write if writer else None, progress=progress)
        summary = importer.run(items)
        if dry_run:
            session.rollback()
        else:
            session.commit()
        return summary
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def update_index(rt: Runtime, touched: int, *, index: str = "inline") -> None:
    """Bring the search index up to date after an import of ``touched`` titles.

    ``kick`` (the admin page) leaves the queue to the indexer thread, so the request never waits for a
    rebuild; ``inline`` (the command) rebuilds once after a large import, else processes the queue now.
    """
    if index == "kick":
        rt.indexer.kick()
    elif touched >= REBUILD_AT:
        with rt.db.scope(write=False) as session:  # it only reads: on SQLite sign-ins and loans go on meanwhile
            count = indexing.rebuild(session, rt.search, rt.indexer.enrichers)
        log.info("search index rebuilt after a large import (%d titles)", count)
    else:
        rt.indexer.run_once()
