"""Keeps the search index following the database.

Any flush that adds, changes or deletes a row with a ``search_title_id`` (a title, its contributors,
subjects, licences ...) writes that id to ``search_queue`` *in the same transaction*. After the commit
the ``SearchIndexer`` rewrites those documents. Because the queue is in the database, a change is never
lost: if the index is busy (Whoosh allows one writer) or the process dies, the next pass picks it up,
from this worker or any other.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from sqlalchemy import delete, event, insert, select
from sqlalchemy.orm import Session, sessionmaker

from elibrary.catalog.models import Contributor, SearchQueueEntry, Subject, Title, TitleContributor, TitleStatus
from elibrary.db import request_after_commit
from elibrary.search.base import SearchBackend, SearchDocument, SearchError

log = logging.getLogger(__name__)

AFTER_COMMIT_TASK = "search-index"
BATCH = 500
REBUILD_BATCH = 2000  # titles read per round trip by a rebuild

# Other domains (lending) contribute fields such as availability: title ids in, {id: {field: value}} out.
DocumentEnricher = Callable[[Session, list[int]], dict[int, dict]]


def watch_changes(factory: sessionmaker) -> None:
    """Queue the titles touched by every flush of sessions made by ``factory``."""
    event.listen(factory, "after_flush", _queue_touched_titles)


def _queue_touched_titles(session: Session, _flush_context) -> None:
    ids = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        title_id = getattr(obj, "search_title_id", None)
        if title_id is not None:
            ids.add(title_id)
    queue_titles(session, ids)


def queue_titles(session: Session, title_ids: Iterable[int]) -> None:
    """Queue titles for re-indexing in this transaction: for changes made with Core SQL, which no flush sees."""
    ids = sorted(set(title_ids))
    if ids:
        session.connection().execute(insert(SearchQueueEntry.__table__), [{"title_id": i} for i in ids] if len(ids) > 1 else {"title_id": ids[0]})
        request_after_commit(session, AFTER_COMMIT_TASK)


def queue_all(session: Session) -> None:
    """Mark every title for re-indexing (after a change that affects many, e.g. a policy)."""
    session.execute(insert(SearchQueueEntry).from_select(["title_id"], select(Title.id)))
    request_after_commit(session, AFTER_COMMIT_TASK)


def build_documents(session: Session, ids: list[int], enrichers: Iterable[DocumentEnricher] = ()) -> list[SearchDocument]:
    """Search documents for the active titles among ``ids`` (withdrawn or deleted ones are absent), by id.

    Read with three plain queries (titles, credits, subjects) rather than as ORM objects: a rebuild
    reads every title, and building mapped objects with their relationships cost more than analysing them.
    """
    if not ids:
        return []
    rows = session.execute(
        select(*_TITLE_COLUMNS).where(Title.id.in_(ids), Title.status == TitleStatus.active).order_by(Title.id)
    ).all()
    if not rows:
        return []
    found = [row.id for row in rows]
    people: dict[int, list[tuple[str, str]]] = {}
    for title_id, name, reading in session.execute(
        select(TitleContributor.title_id, Contributor.name, Contributor.name_reading)
        .join(Contributor, Contributor.id == TitleContributor.contributor_id)
        .where(TitleContributor.title_id.in_(found))
        .order_by(TitleContributor.title_id, TitleContributor.position, TitleContributor.id)
    ):
        people.setdefault(title_id, []).append((name, reading))
    subjects: dict[int, list[str]] = {}
    for title_id, term in session.execute(
        select(Subject.title_id, Subject.term).where(Subject.title_id.in_(found)).order_by(Subject.title_id, Subject.id)
    ):
        subjects.setdefault(title_id, []).append(term)
    extra: dict[int, dict] = {}
    for enrich in enrichers:
        for title_id, fields in enrich(session, found).items():
            extra.setdefault(title_id, {}).update(fields)
    return [
        _document(row, people.get(row.id, ()), subjects.get(row.id, ()), extra.get(row.id, {}))
        for row in rows
    ]


_TITLE_COLUMNS = (
    Title.id, Title.title, Title.title_reading, Title.subtitle, Title.series_title, Title.series_reading,
    Title.publisher, Title.description, Title.isbn, Title.ndc, Title.audience, Title.format, Title.language,
    Title.published_on,
)


def _document(row, people, subjects, overrides: dict) -> SearchDocument:
    fields = dict(
        id=row.id,
        title=row.title,
        title_reading=row.title_reading or "",
        subtitle=row.subtitle or "",
        series=row.series_title or "",
        series_reading=row.series_reading or "",
        contributors=tuple(name for name, _ in people),
        contributor_readings=tuple(reading for _, reading in people if reading),
        publisher=row.publisher or "",
        subjects=tuple(subjects),
        description=row.description or "",
        isbn=row.isbn or "",
        ndc=row.ndc or "",
        audience=row.audience.value if row.audience else "",
        format=row.format.value if row.format else "",
        language=row.language or "",
        published=row.published_on,
    )
    fields.update(overrides)
    return SearchDocument(**fields)


def process_queue(session: Session, search: SearchBackend, enrichers: Iterable[DocumentEnricher] = ()) -> int:
    """Apply queued changes to the index; returns how many titles were processed.

    The queue rows are deleted in the caller's transaction: if indexing fails they stay for the next pass.
    """
    done = 0
    enrichers = tuple(enrichers)
    while True:
        rows = session.execute(select(SearchQueueEntry.id, SearchQueueEntry.title_id).order_by(SearchQueueEntry.id).limit(BATCH)).all()
        if not rows:
            return done
        ids = sorted({title_id for _, title_id in rows})
        documents = build_documents(session, ids, enrichers)
        present = {doc.id for doc in documents}
        if documents:
            search.upsert(documents)
        gone = [i for i in ids if i not in present]
        if gone:
            search.delete(gone)
        session.execute(delete(SearchQueueEntry).where(SearchQueueEntry.id <= rows[-1][0], SearchQueueEntry.title_id.in_(ids)))
        session.flush()
        done += len(ids)


def rebuild(session: Session, search: SearchBackend, enrichers: Iterable[DocumentEnricher] = (), progress=None) -> int:
    """Rebuild the whole index from the database in ``session`` (a write session: queue entries are cleared)."""
    covered = queued_ids(session)
    count = rebuild_index(session, search, enrichers, progress)
    forget_queued(session, covered)
    return count


def rebuild_index(session: Session, search: SearchBackend, enrichers: Iterable[DocumentEnricher] = (), progress=None) -> int:
    """Rebuild the whole index from what ``session`` sees, reading only (``elibrary search reindex``).

    On SQLite a write transaction would block every other writer for the whole rebuild, so the command
    reads in a read-only transaction and clears the queue entries it covered (``queued_ids`` taken before,
    ``forget_queued`` after) in a short write transaction of its own; entries queued meanwhile stay.
    """
    enrichers = tuple(enrichers)

    def documents():
        last = 0
        while True:
            ids = session.scalars(
                select(Title.id).where(Title.id > last, Title.status == TitleStatus.active).order_by(Title.id).limit(REBUILD_BATCH)
            ).all()
            if not ids:
                return
            yield from build_documents(session, list(ids), enrichers)
            session.expunge_all()  # bounded memory on large catalogs
            last = ids[-1]

    return search.rebuild(documents(), progress)


def queued_ids(session: Session) -> list[int]:
    """Ids of the queue entries visible now: a rebuild reading from this snapshot covers them."""
    return list(session.scalars(select(SearchQueueEntry.id)))


def forget_queued(session: Session, entry_ids: list[int]) -> None:
    """Delete these queue entries (a rebuild covered them)."""
    for start in range(0, len(entry_ids), BATCH):
        session.execute(delete(SearchQueueEntry).where(SearchQueueEntry.id.in_(entry_ids[start : start + BATCH])))


class SearchIndexer:
    """Runs ``process_queue`` after commits: inline (tests, CLI) or on a background thread per process."""

    def __init__(self, new_session: Callable[[], Session], search: SearchBackend, *, synchronous: bool) -> None:
        self._new_session = new_session
        self._search = search
        self.synchronous = synchronous
        self.enrichers: list[DocumentEnricher] = []
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def kick(self) -> None:
        """Index queued changes now (synchronous) or wake the background thread."""
        if self.synchronous:
            self.run_once()
            return
        self._ensure_thread()
        self._wake.set()

    def run_once(self) -> int:
        """One pass in its own transaction; errors leave the queue for the next pass."""
        with self._lock:
            session = self._new_session()
            try:
                count = process_queue(session, self._search, self.enrichers)
                session.commit()
                return count
            except SearchError:
                session.rollback()
                log.warning("search index busy or unavailable; queued changes kept for the next pass")
                return 0
            except Exception:
                session.rollback()
                raise
            finally:
                session.close()

    def _ensure_thread(self) -> None:
        import os

        # gunicorn forks workers after create_app: each process starts its own thread lazily.
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._loop, name="search-indexer", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            self._wake.wait(timeout=30)  # also retries periodically after a busy index
            self._wake.clear()
            try:
                self.run_once()
            except Exception:
                log.exception("search indexing pass failed")
