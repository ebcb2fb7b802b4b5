"""Keeps this server's book-text index (本文検索, ``search.booktext``) following the change log ``search_queue``.

The same log the catalog index follows, with the text index's own position: attaching or replacing a
book file, a licence change and a withdrawal all touch the title's ``search_title_id``. For each title
past the position: a title that is active, has a book file and whose licences allow it (``Searchable``,
injected by the wiring room from lending) is indexed when its file changed since it was indexed (the
index keeps each title's ``source``: the file's hash and ``EXTRACTION``); any other title is removed.
So a loan, which also touches the title, costs one look at the index's markers, not an extraction.

A book whose text cannot be read is logged with its title id and the reason (never its text) and indexed
as empty, so it is not tried again until its file changes; the title stays findable by its metadata.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from elibrary.books.text import BookTextError, extract_text
from elibrary.catalog.indexing import BATCH, REBUILD_BEHIND, STALE_AFTER, LogFollower, RecentChanges, late_entries, newest_change
from elibrary.catalog.models import BookFile, SearchQueueEntry, Title, TitleStatus
from elibrary.search.base import LogPosition, SearchError
from elibrary.search.booktext import BookText, BookTextIndex
from elibrary.storage.base import BookStorage, StorageError

log = logging.getLogger(__name__)

EXTRACTION = "x1"  # bump when extraction changes: every title's text is read again
TEXT_TYPES = ("application/epub+zip", "application/pdf")

# Titles whose text may be searched now (lending.text_search.text_searchable): session and ids in, ids out.
Searchable = Callable[[Session, Iterable[int]], set[int]]


def book_files(session: Session, title_ids: Iterable[int]) -> dict[int, BookFile]:
    """Each active title's file to read text from: its newest EPUB, else its newest PDF."""
    ids = sorted(set(title_ids))
    if not ids:
        return {}
    chosen: dict[int, BookFile] = {}
    rows = session.scalars(
        select(BookFile).join(Title, Title.id == BookFile.title_id)
        .where(BookFile.title_id.in_(ids), Title.status == TitleStatus.active, BookFile.media_type.in_(TEXT_TYPES))
        .order_by(BookFile.title_id, BookFile.id)
    )
    for book_file in rows:
        current = chosen.get(book_file.title_id)
        if current is None or current.media_type != "application/epub+zip" or book_file.media_type == "application/epub+zip":
            chosen[book_file.title_id] = book_file
    return chosen


def source_of(book_file: BookFile) -> str:
    """What a title's indexed text was made from."""
    return f"{book_file.sha256}:{EXTRACTION}"


def read_book(storage: BookStorage, book_file: BookFile) -> BookText:
    """The text of a stored book file; empty (and logged) when it cannot be read."""
    try:
        with storage.open(book_file.storage_key) as stream:
            text = extract_text(stream, book_file.media_type)
    except (BookTextError, StorageError) as exc:
        reason = exc.reason if isinstance(exc, BookTextError) else type(exc).__name__
        log.warning("book text of title %s not indexed: %s", book_file.title_id, reason)
        text = ""
    return BookText(book_file.title_id, source_of(book_file), text)


def apply_titles(session: Session, index: BookTextIndex, storage: BookStorage, searchable: Searchable, title_ids: Iterable[int]) -> int:
    """Bring these titles' text in the index up to date; returns how many were (re)indexed or removed."""
    ids = sorted(set(title_ids))
    if not ids:
        return 0
    files = book_files(session, ids)
    allowed = searchable(session, list(files)) if files else set()
    wanted = {i: f for i, f in files.items() if i in allowed}
    indexed = index.sources(ids)
    gone = [i for i in ids if i not in wanted and i in indexed]
    changed = [f for i, f in wanted.items() if indexed.get(i) != source_of(f)]
    if gone:
        index.delete(gone)
    for book_file in changed:  # one book at a time: a book's passages are a few megabytes
        index.replace([read_book(storage, book_file)])
    return len(gone) + len(changed)


def all_books(session: Session, storage: BookStorage, searchable: Searchable) -> Iterator[BookText]:
    """Every searchable title's text, read title by title (a rebuild)."""
    last = 0
    while True:
        ids = session.scalars(select(Title.id).where(Title.id > last, Title.status == TitleStatus.active).order_by(Title.id).limit(200)).all()
        if not ids:
            return
        files = book_files(session, ids)
        allowed = searchable(session, list(files))
        for title_id, book_file in sorted(files.items()):
            if title_id in allowed:
                yield read_book(storage, book_file)
        session.expunge_all()
        last = ids[-1]


def rebuild(session: Session, index: BookTextIndex, storage: BookStorage, searchable: Searchable) -> int:
    """Rebuild the whole text index from storage; its position becomes the log's newest entry."""
    with index.positions.following():
        newest = newest_change(session)
        count = index.rebuild(all_books(session, storage, searchable))
        index.positions.write(LogPosition(change_id=newest, at=time.time()))
        return count


def follow_log(session: Session, index: BookTextIndex, storage: BookStorage, searchable: Searchable,
               recent: RecentChanges | None = None) -> int:
    """Apply the changes past the index's position, or rebuild it when it is new and empty or far behind."""
    recent = recent if recent is not None else RecentChanges()
    position, newest, now = index.positions.read(), newest_change(session), time.time()
    if position is None:
        if not index.status().get("titles") and session.scalar(select(BookFile.id).limit(1)):
            count = index.rebuild(all_books(session, storage, searchable))
            index.positions.write(LogPosition(change_id=newest, at=now))
            return count
        oldest = session.scalar(select(func.min(SearchQueueEntry.id)))
        position = LogPosition(change_id=oldest - 1 if oldest else newest, at=now)
    elif now - position.at > STALE_AFTER.total_seconds() or newest - position.change_id > REBUILD_BEHIND:
        log.warning("book-text index is %d changes behind the log: rebuilding", newest - position.change_id)
        count = index.rebuild(all_books(session, storage, searchable))
        index.positions.write(LogPosition(change_id=newest, at=now))
        return count
    late = late_entries(session, position, recent)
    done = apply_titles(session, index, storage, searchable, [t for _, t in late]) if late else 0
    last = position.change_id
    while rows := session.execute(
        select(SearchQueueEntry.id, SearchQueueEntry.title_id).where(SearchQueueEntry.id > last).order_by(SearchQueueEntry.id).limit(BATCH)
    ).all():
        done += apply_titles(session, index, storage, searchable, [t for _, t in rows])
        recent.passed(last, [i for i, _ in rows])
        last = rows[-1][0]
    if last != position.change_id or index.positions.read() is None or now - position.at > 60:
        index.positions.write(LogPosition(change_id=last, at=now))
    return done


def lag(session: Session, index: BookTextIndex) -> dict:
    """How far the text index is behind the log (``/healthz/detail``)."""
    position, newest = index.positions.read(), newest_change(session)
    if position is None:
        return {"position": None, "newest": newest, "behind": None}
    return {"position": position.change_id, "newest": newest, "behind": max(newest - position.change_id, 0),
            "seconds_since_followed": round(max(time.time() - position.at, 0.0), 1)}


class TextIndexer(LogFollower):
    """Runs ``follow_log`` after commits (inline in tests and the CLI) or on a background thread per process."""

    thread_name = "booktext-indexer"

    def __init__(self, new_session: Callable[[], Session], index: BookTextIndex, storage: BookStorage, searchable: Searchable, *,
                 synchronous: bool, poll_seconds: float = 2.0) -> None:
        super().__init__(new_session, synchronous=synchronous, poll_seconds=poll_seconds)
        self.index = index
        self._storage = storage
        self.searchable = searchable  # lending's rule, also used by searches to check each hit

    def start_following(self) -> None:
        """Follow the log in this process, and have the index read into memory in the background (each worker, on its first request)."""
        super().start_following()
        self.index.warm()

    def lag(self, session: Session) -> dict:
        """How far this server's text index is behind the change log."""
        return lag(session, self.index)

    def rebuild(self) -> int:
        """Rebuild the text index from storage (``elibrary search reindex``)."""
        with self._lock:
            session = self._new_session()
            try:
                return rebuild(session, self.index, self._storage, self.searchable)
            finally:
                session.rollback()
                session.close()

    def run_once(self) -> int:
        """One pass in its own read-only transaction; on errors the position stays for the next pass."""
        with self._lock, self.index.positions.following():
            session = self._new_session()
            try:
                return follow_log(session, self.index, self._storage, self.searchable, self._recent)
            except SearchError:
                log.warning("book-text index busy or unavailable; its position kept for the next pass")
                return 0
            except Exception:  # the text index must never fail a commit or a request; the next pass retries
                log.exception("book-text indexing pass failed; its position kept for the next pass")
                return 0
            finally:
                session.rollback()
                session.close()
