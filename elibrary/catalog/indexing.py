"""Keeps every search index following the database, however many app servers share it.

Any flush that adds, changes or deletes a row with a ``search_title_id`` (a title, its contributors,
subjects, licences ...) appends that id to the change log ``search_queue`` *in the same transaction*.
Each index keeps its own position in that log (``SearchBackend.positions``: beside the index folder for
Whoosh), and after a commit, and every ``poll_seconds`` on every worker, the ``SearchIndexer`` applies
the changes past it. Nobody deletes a change another server still needs: entries are pruned after
``RETENTION``; an index that has not followed the log for ``STALE_AFTER`` (it may have missed pruned
entries), or is ``REBUILD_BEHIND`` changes behind, or has no position and is empty (a new server), is
rebuilt from the database instead, as is an index an older version wrote (``SearchBackend.outdated``).
Transactions commit out of id order, so the gaps a pass passed over are looked at again for ``WINDOW`` (``RecentChanges``).
"""
from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta

from sqlalchemy import delete, event, func, insert, inspect, or_, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.dml import Update
from sqlalchemy.sql.selectable import ScalarSelect

from elibrary.catalog import transaction_index
from elibrary.catalog.models import Contributor, SearchQueueEntry, Subject, Title, TitleContributor, TitleStatus
from elibrary.db import request_after_commit, utcnow
from elibrary.search.base import LogPosition, SearchBackend, SearchDocument, SearchError

log = logging.getLogger(__name__)

AFTER_COMMIT_TASK = "search-index"
BATCH = 500
REBUILD_BATCH = 2000  # titles read per round trip by a rebuild
RETENTION = timedelta(days=7)  # change-log entries older than this are pruned
STALE_AFTER = timedelta(days=6)  # an index that has not followed the log for this long is rebuilt
REBUILD_BEHIND = 50_000  # changes behind past which rebuilding beats replaying
WINDOW = timedelta(minutes=15)  # entries this recent are looked at again (commits land out of id order)
PRUNE_EVERY = 3600.0  # seconds between a process's prunings of the log

# Other domains (lending) contribute fields such as availability: title ids in, {id: {field: value}} out.
DocumentEnricher = Callable[[Session, list[int]], dict[int, dict]]


def watch_changes(factory: sessionmaker) -> None:
    """Queue the titles touched by every flush of sessions made by ``factory``."""
    event.listen(factory, "after_flush", _queue_touched_titles)


_DESCRIBED_BY = (Title, Contributor, Subject, TitleContributor)  # what a search document is made of, besides availability


def _queue_touched_titles(session: Session, _flush_context) -> None:
    described, other, text = set(), set(), set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        title_id = getattr(obj, "search_title_id", None)
        if title_id is not None:
            (described if isinstance(obj, _DESCRIBED_BY) else other).add(title_id)
            if _touches_book_text(session, obj):
                text.add(title_id)
    queue_titles(session, described)
    queue_titles(session, other - described, availability_only=True)
    if text and session.info.get(transaction_index.INFO_KEY) is not None:
        # the catalog's index is written in this transaction and follows no log, but the book-text index
        # (本文検索, ``text_indexing``) does: a file, a licence or a withdrawal is logged for it
        session.connection().execute(insert(SearchQueueEntry.__table__), [{"title_id": i} for i in sorted(text)])
        request_after_commit(session, AFTER_COMMIT_TASK)


def _touches_book_text(session: Session, obj) -> bool:
    """A change the book-text index must see: a book file, a licence (``touches_book_text``), a title's status."""
    if getattr(obj, "touches_book_text", False):
        return True
    if isinstance(obj, Title) and obj not in session.new:
        return obj in session.deleted or inspect(obj).attrs.status.history.has_changes()
    return False


def queue_titles(session: Session, title_ids: Iterable[int], *, availability_only: bool = False) -> None:
    """Queue titles for re-indexing in this transaction: for changes made with Core SQL, which no flush sees.

    With an index kept in this database (``transaction_index``) the titles are indexed at this
    transaction's commit instead; ``availability_only`` says only loans, holds or licences changed.
    """
    ids = sorted(set(title_ids))
    if not ids:
        return
    if session.info.get(transaction_index.INFO_KEY) is not None:
        transaction_index.TransactionIndex.note(session, ids, availability_only=availability_only)
        return
    session.connection().execute(insert(SearchQueueEntry.__table__), [{"title_id": i} for i in ids] if len(ids) > 1 else {"title_id": ids[0]})
    request_after_commit(session, AFTER_COMMIT_TASK)


def availability_logged(session: Session) -> bool:
    """Whether a change of availability alone (a loan, a hold) goes to the change log: not when the catalog's index is
    written in this transaction (``transaction_index``), since the only index then following the log, the book text's,
    does not show availability."""
    return session.info.get(transaction_index.INFO_KEY) is None


def queued_by_sql(session: Session, title_ids: Iterable[int], *, known: Mapping[int, bool] | None = None, written: bool = False) -> None:
    """Titles whose availability changed and whose log entries a combined SQL statement already wrote (lending).

    With an index written in the transaction: ``known`` is the availability the statement's caller decided (the
    commit writes it without reading it), and ``written`` says the index holds it already: the statement wrote it
    (``availability_statement``), or read that the index held it (``indexed_availability``).
    """
    if session.info.get(transaction_index.INFO_KEY) is None:
        request_after_commit(session, AFTER_COMMIT_TASK)
    elif written:
        transaction_index.TransactionIndex.note_written(session, title_ids)
    else:
        transaction_index.TransactionIndex.note(session, title_ids, availability_only=True, known=known)


def availability_statement(session: Session) -> Update | None:
    """The statement that sets one title's availability in an index written in this transaction, for a lending
    statement to carry (bind parameters ``index_title_id`` and ``index_available``); None when the index follows the log."""
    index = session.info.get(transaction_index.INFO_KEY)
    return index.availability_statement() if index is not None else None


def indexed_availability(session: Session) -> ScalarSelect | None:
    """What an index written in this transaction holds as one title's availability (bind parameter ``index_title_id``),
    for a lending statement to read; None when the index follows the log."""
    index = session.info.get(transaction_index.INFO_KEY)
    return index.indexed_availability() if index is not None else None


def queue_all(session: Session) -> None:
    """Mark every title for re-indexing (after a change that affects many, e.g. a policy)."""
    if session.info.get(transaction_index.INFO_KEY) is not None:
        queue_titles(session, session.scalars(select(Title.id)).all())
        return
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


def newest_change(session: Session) -> int:
    """The id of the newest change-log entry (0 when the log is empty)."""
    return session.scalar(select(func.max(SearchQueueEntry.id))) or 0


class RecentChanges:
    """What this process knows of entries that may commit late: the id gaps it passed over.

    Ids are taken when an entry is inserted, so an entry can commit after the index has moved past its
    id. A pass remembers the gaps in the ids it applied (an entry still in flight, or rolled back) for
    ``WINDOW`` and looks only at those again; a process's first pass looks again at the whole window,
    since it knows no gaps from before it started.
    """

    MAX_GAPS = 200  # ranges kept; past that the oldest are merged into one

    def __init__(self) -> None:
        self.started = False
        self._gaps: list[tuple[int, int, float]] = []  # (first id, last id, when seen)
        self._applied: set[int] = set()  # ids applied from inside the gaps

    def passed(self, previous: int, ids: list[int]) -> None:
        """Note the gaps in ``ids`` (ascending), applied after the position ``previous``."""
        now = time.monotonic()
        for before, after in zip([previous, *ids], ids, strict=False):
            if after > before + 1:
                self._gaps.append((before + 1, after - 1, now))
        if len(self._gaps) > self.MAX_GAPS:
            oldest = self._gaps[: len(self._gaps) - self.MAX_GAPS + 1]
            merged = (oldest[0][0], oldest[-1][1], oldest[-1][2])
            self._gaps = [merged, *self._gaps[len(oldest):]]

    def open_gaps(self) -> list[tuple[int, int]]:
        """The gaps of the last ``WINDOW`` (older ones are forgotten)."""
        horizon = time.monotonic() - WINDOW.total_seconds()
        self._gaps = [g for g in self._gaps if g[2] >= horizon]
        if not self._gaps:
            self._applied.clear()
        return [(lo, hi) for lo, hi, _ in self._gaps]

    def fresh(self, rows) -> list:
        """The rows of a gap not applied yet; they are then counted as applied."""
        out = [(i, t) for i, t in rows if i not in self._applied]
        self._applied.update(i for i, _ in out)
        return out


def late_entries(session: Session, position: LogPosition, recent: RecentChanges) -> list:
    """Entries at or below the position that this process may not have applied (``RecentChanges``)."""
    query = select(SearchQueueEntry.id, SearchQueueEntry.title_id).where(SearchQueueEntry.id <= position.change_id)
    if not recent.started:
        recent.started = True
        return list(session.execute(query.where(SearchQueueEntry.enqueued_at >= utcnow() - WINDOW)))
    gaps = recent.open_gaps()
    if not gaps:
        return []
    rows = session.execute(query.where(or_(*(SearchQueueEntry.id.between(lo, hi) for lo, hi in gaps))))
    return recent.fresh(rows)


def _apply(session: Session, search: SearchBackend, enrichers: tuple, title_ids: Iterable[int]) -> int:
    ids = sorted(set(title_ids))
    documents = build_documents(session, ids, enrichers)
    present = {doc.id for doc in documents}
    if documents:
        search.upsert(documents)
    gone = [i for i in ids if i not in present]
    if gone:
        search.delete(gone)
    return len(ids)


def follow_log(session: Session, search: SearchBackend, enrichers: Iterable[DocumentEnricher] = (),
               recent: RecentChanges | None = None) -> int:
    """Apply the changes past this index's position (or rebuild it); returns how many titles were processed.

    The caller holds ``search.positions.following()``. Nothing is deleted: other servers' indexes follow
    the same log. If indexing fails, the position stays and the next pass applies the changes again.
    """
    enrichers, recent = tuple(enrichers), recent if recent is not None else RecentChanges()
    if getattr(search, "indexes_in_transaction", False):
        return _fill_if_empty(session, search, enrichers)
    position, newest, now = search.positions.read(), newest_change(session), time.time()
    if search.outdated():  # written by an older version that this one cannot read (searches answer 503 meanwhile)
        log.warning("search index was written by an older version: rebuilding")
        return _rebuild(session, search, enrichers, newest)
    if position is None:
        if not search.status().get("documents") and session.scalar(select(Title.id).where(Title.status == TitleStatus.active).limit(1)):
            return _rebuild(session, search, enrichers, newest)  # a new server's empty index
        oldest = session.scalar(select(func.min(SearchQueueEntry.id)))
        position = LogPosition(change_id=oldest - 1 if oldest else newest, at=now)  # an index from before positions
    elif now - position.at > STALE_AFTER.total_seconds() or newest - position.change_id > REBUILD_BEHIND:
        log.warning("search index is %d changes and %.0f s behind the log: rebuilding", newest - position.change_id, now - position.at)
        return _rebuild(session, search, enrichers, newest)
    late = late_entries(session, position, recent)
    done = _apply(session, search, enrichers, [t for _, t in late]) if late else 0
    last = position.change_id
    while rows := session.execute(
        select(SearchQueueEntry.id, SearchQueueEntry.title_id).where(SearchQueueEntry.id > last).order_by(SearchQueueEntry.id).limit(BATCH)
    ).all():
        done += _apply(session, search, enrichers, [t for _, t in rows])
        recent.passed(last, [i for i, _ in rows])
        last = rows[-1][0]
    if last != position.change_id or search.positions.read() is None or now - position.at > 60:
        search.positions.write(LogPosition(change_id=last, at=now))
    return done


def _fill_if_empty(session: Session, search: SearchBackend, enrichers: tuple) -> int:
    """An index written with each title follows no log; it is only built once, when a server first finds it empty."""
    if search.positions.read() is not None:
        return 0
    done = 0
    if not search.status().get("documents") and session.scalar(select(Title.id).where(Title.status == TitleStatus.active).limit(1)):
        done = rebuild_index(session, search, enrichers)
    search.positions.write(LogPosition(change_id=0, at=time.time()))
    return done


def process_queue(session: Session, search: SearchBackend, enrichers: Iterable[DocumentEnricher] = ()) -> int:
    """``follow_log`` holding the index's following lock (tests and one-off callers)."""
    with search.positions.following():
        return follow_log(session, search, enrichers)


def _rebuild(session: Session, search: SearchBackend, enrichers: tuple, newest: int, progress=None) -> int:
    count = rebuild_index(session, search, enrichers, progress)
    record_rebuild(search, newest)
    return count


def rebuild(session: Session, search: SearchBackend, enrichers: Iterable[DocumentEnricher] = (), progress=None) -> int:
    """Rebuild the whole index from the database in ``session``; its position becomes the log's newest entry."""
    with search.positions.following():
        return _rebuild(session, search, tuple(enrichers), newest_change(session), progress)


def record_rebuild(search: SearchBackend, newest: int) -> None:
    """After a rebuild from a snapshot taken when ``newest`` was the newest entry: the changes past it follow."""
    search.positions.write(LogPosition(change_id=newest, at=time.time()))


def rebuild_index(session: Session, search: SearchBackend, enrichers: Iterable[DocumentEnricher] = (), progress=None) -> int:
    """Rebuild the whole index from what ``session`` sees, reading only (``elibrary search reindex``).

    The caller records the position (``record_rebuild``) with the newest entry read before the rebuild.
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


def prune_log(session: Session) -> int:
    """Delete change-log entries older than ``RETENTION`` (every index has followed them or will be rebuilt)."""
    return session.execute(delete(SearchQueueEntry).where(SearchQueueEntry.enqueued_at < utcnow() - RETENTION)).rowcount or 0


def lag(session: Session, search: SearchBackend) -> dict:
    """How far this index is behind the log, for /healthz."""
    if getattr(search, "indexes_in_transaction", False):
        return {"in_transaction": True, "behind": 0}
    position, newest = search.positions.read(), newest_change(session)
    if position is None:
        return {"position": None, "newest": newest, "behind": None}
    return {"position": position.change_id, "newest": newest, "behind": max(newest - position.change_id, 0),
            "seconds_since_followed": round(max(time.time() - position.at, 0.0), 1)}


class LogFollower(ABC):
    """Runs ``run_once`` after commits: inline (tests, CLI) or on a background thread per process, which also
    wakes every ``poll_seconds`` for other servers' changes. Subclasses say what a pass does."""

    thread_name = "log-follower"

    def __init__(self, new_session: Callable[[], Session], *, synchronous: bool, poll_seconds: float = 2.0) -> None:
        self._new_session = new_session
        self.synchronous = synchronous
        self.poll_seconds = poll_seconds  # other servers' changes are seen within this (plus indexing)
        self._recent = RecentChanges()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    @abstractmethod
    def run_once(self) -> int:
        """One pass over the change log; returns how many titles it updated."""

    def kick(self) -> None:
        """Index queued changes now (synchronous) or wake the background thread."""
        if self.synchronous:
            self.run_once()
            return
        self._ensure_thread()
        self._wake.set()

    def start_following(self) -> None:
        """Follow the log on a background thread in this process (each worker, on its first request)."""
        if not self.synchronous:
            self._ensure_thread()

    def _ensure_thread(self) -> None:
        import os

        # gunicorn forks workers after create_app: each process starts its own thread lazily.
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End the background thread (tests; a process shutting down just exits)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=self.poll_seconds)  # other servers' changes; retries after a busy index
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.run_once()
            except Exception:
                log.exception("%s pass failed", self.thread_name)


class SearchIndexer(LogFollower):
    """Runs ``process_queue`` after commits: inline (tests, CLI) or on a background thread per process."""

    thread_name = "search-indexer"

    def __init__(self, new_session: Callable[[], Session], search: SearchBackend, *, new_writer: Callable[[], Session],
                 synchronous: bool, poll_seconds: float = 2.0) -> None:
        super().__init__(new_session, synchronous=synchronous, poll_seconds=poll_seconds)
        self._new_writer = new_writer  # for pruning the log; a pass itself only reads the database
        self._search = search
        self._pruned_at = 0.0
        self.enrichers: list[DocumentEnricher] = []

    def lag(self, session: Session) -> dict:
        """How far this server's index is behind the change log (``/healthz``)."""
        return lag(session, self._search)

    def run_once(self) -> int:
        """One pass in its own read-only transaction; on errors the position stays for the next pass.

        A pass only reads the database while it writes the index (seconds for a large change, minutes for
        a new server's rebuild), so on SQLite it never holds the write lock that sign-ins and loans wait
        for. Pruning the log, once every ``PRUNE_EVERY``, is a short write transaction of its own after it.
        """
        with self._lock, self._search.positions.following():
            session = self._new_session()
            try:
                count = follow_log(session, self._search, self.enrichers, self._recent)
            except SearchError:
                log.warning("search index busy or unavailable; its position kept for the next pass")
                return 0
            finally:
                session.rollback()
                session.close()
        if time.monotonic() - self._pruned_at > PRUNE_EVERY:
            self._pruned_at = time.monotonic()
            with self._new_writer() as session, session.begin():
                prune_log(session)
        return count
