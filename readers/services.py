"""Who may read what, and where they stopped: plain functions over a session (no Flask).

A licensed title is readable only while the patron holds a current loan (checked on every request,
so a returned loan closes every resource URL at once); open titles are readable by anyone.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, event, func, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from elibrary.catalog.models import BookFile, Title, TitleStatus
from elibrary.db import utcnow
from elibrary.errors import Forbidden, InvalidInput, NotFound
from elibrary.lending import loan_rows
from elibrary.lending import services as lending
from elibrary.lending.loan_rows import EndingLoan
from elibrary.lending.models import License, LicenseModel, Loan
from elibrary.patrons.models import Patron
from readers.models import ReadingPosition

EPUB = "application/epub+zip"
PDF = "application/pdf"
MAX_BOOKMARKS = 200


class NotReadable(Forbidden):
    """No current loan of a licensed title (or not signed in as a patron)."""

    code = "not-readable"
    message_ja = "この本を読むには、貸出を受けてください（返却済み・期限切れの場合は読めません）。"
    message_en = "Borrow this book to read it (returned or expired loans cannot be read)."


class NoReadableFile(NotFound):
    """The title has no EPUB or PDF to read."""

    code = "no-book-file"
    message_ja = "この本には読めるファイルがありません。"
    message_en = "This title has no readable file."


@dataclass(frozen=True)
class ReadingGrant:
    """Permission to read one title now: the file to serve and the loan it rests on (None if open)."""

    title: Title
    book_file: BookFile
    loan: Loan | None
    is_open: bool
    may_download: bool

    @property
    def is_pdf(self) -> bool:
        """Whether the file is a PDF (else an EPUB)."""
        return self.book_file.media_type == PDF


def readable_file(session: Session, title_id: int) -> BookFile | None:
    """The title's file for the browser readers: its EPUB, else its PDF."""
    files = session.scalars(select(BookFile).where(BookFile.title_id == title_id, BookFile.media_type.in_((EPUB, PDF)))).all()
    return min(files, key=lambda f: (f.media_type != EPUB, f.id), default=None)


def is_open_title(session: Session, title_id: int) -> bool:
    """Whether an ``open`` licence makes the title readable by anyone."""
    count = session.scalar(select(func.count()).select_from(License).where(License.title_id == title_id, License.model == LicenseModel.open))
    return bool(count)


def grant_reading(session: Session, user, title_id: int, *, now: datetime | None = None) -> ReadingGrant:
    """The grant to read ``title_id`` for ``user`` (a Patron, staff or anonymous), or ``NotReadable``."""
    now = now or utcnow()
    title = session.get(Title, title_id)
    if title is None or title.status != TitleStatus.active:
        raise NotFound()
    book_file = readable_file(session, title_id)
    if book_file is None:
        raise NoReadableFile()
    if is_open_title(session, title_id):
        return ReadingGrant(title, book_file, None, True, True)
    if not isinstance(user, Patron) or not getattr(user, "is_authenticated", False):
        raise NotReadable()
    loan = lending.active_loan(session, user.id, title_id)
    if loan is None or loan.due_at <= now:
        raise NotReadable()
    license = session.get(License, loan.license_id)
    return ReadingGrant(title, book_file, loan, False, bool(license and license.drm_free_download))


def grant_for_content(session: Session, title_id: int, loan_id: int, *, now: datetime | None = None) -> ReadingGrant:
    """The grant behind a content token: the loan it names must still be current (``loan_id`` 0: an open title)."""
    now = now or utcnow()
    title = session.get(Title, title_id)
    if title is None or title.status != TitleStatus.active:
        raise NotFound()
    book_file = readable_file(session, title_id)
    if book_file is None:
        raise NoReadableFile()
    if not loan_id:
        if not is_open_title(session, title_id):
            raise NotReadable()
        return ReadingGrant(title, book_file, None, True, True)
    loan = session.get(Loan, loan_id)
    if loan is None or loan.title_id != title_id or loan.due_at <= now:
        raise NotReadable()
    license = session.get(License, loan.license_id)
    return ReadingGrant(title, book_file, loan, False, bool(license and license.drm_free_download))


def position_of(session: Session, patron: Patron, grant: ReadingGrant) -> ReadingPosition | None:
    """Where the patron stopped in this title (under this loan, or kept from an earlier one)."""
    position = session.scalar(select(ReadingPosition).where(ReadingPosition.patron_id == patron.id, ReadingPosition.title_id == grant.title.id))
    if position is not None and grant.loan is not None and position.loan_id not in (None, grant.loan.id):
        return None
    return position


def save_position(session: Session, patron: Patron, grant: ReadingGrant, location: str, fraction: float,
                  bookmarks: list | None = None) -> ReadingPosition:
    """Record the patron's location (and bookmarks when given) for this title and loan."""
    if not isinstance(location, str) or len(location) > 1000:
        raise InvalidInput("位置情報が正しくありません。", "The reading location is not valid.", field="location")
    fraction = _fraction(fraction, "fraction")
    position = session.scalar(select(ReadingPosition).where(ReadingPosition.patron_id == patron.id, ReadingPosition.title_id == grant.title.id))
    if position is None:
        position = ReadingPosition(patron_id=patron.id, title_id=grant.title.id, bookmarks=[], revision=0)
        session.add(position)
    position.loan_id = grant.loan.id if grant.loan is not None else None
    position.location = location
    position.fraction = fraction
    if bookmarks is not None:
        position.bookmarks = _clean_bookmarks(bookmarks)
    position.revision = (position.revision or 0) + 1
    position.updated_at = utcnow()
    session.flush()
    return position


def _fraction(value, field: str) -> float:
    """A progress value between 0 and 1; "nan", infinities, strings and booleans are refused (400)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInput("進み具合が正しくありません。", "The progress value is not valid.", field=field)
    return min(max(float(value), 0.0), 1.0)


def _clean_bookmarks(bookmarks: list) -> list[dict]:
    if not isinstance(bookmarks, list) or len(bookmarks) > MAX_BOOKMARKS:
        raise InvalidInput("しおりが多すぎるか、形式が正しくありません。", "Too many bookmarks, or not valid.", field="bookmarks")
    cleaned = []
    for mark in bookmarks:
        if not isinstance(mark, dict) or not isinstance(mark.get("location"), str):
            raise InvalidInput("しおりの形式が正しくありません。", "A bookmark is not valid.", field="bookmarks")
        cleaned.append({
            "location": mark["location"][:1000],
            "label": str(mark.get("label", ""))[:200],
            "fraction": _fraction(mark.get("fraction") or 0, "bookmarks"),
        })
    return cleaned


def forget_kept_positions_when_history_is_switched_off(session: Session, flush_context, instances) -> None:
    """Before a flush: a patron who stops keeping a reading history also loses the positions kept from ended loans.

    (A loan's own position goes when the loan ends: ``forget_position_of_ended_loan``.)
    """
    for patron in [obj for obj in session.dirty if isinstance(obj, Patron)]:
        history = inspect(patron).attrs.keep_reading_history.history
        if history.deleted and True in history.deleted and not patron.keep_reading_history:
            session.execute(delete(ReadingPosition).where(ReadingPosition.patron_id == patron.id,
                                                          ReadingPosition.loan_id.is_(None)))


def forget_position_of_ended_loan(connection: Connection, loan: EndingLoan) -> None:
    """A loan ends (``loan_rows.close_loan``, the one place loans are deleted): its position goes unless the patron keeps a history.

    When they keep one, the foreign key sets the position's ``loan_id`` to NULL and it waits for their next loan.
    """
    if not loan.keep_reading_history:
        connection.execute(delete(ReadingPosition).where(ReadingPosition.loan_id == loan.id))


def install_loan_end_hook() -> None:
    """Listen for ending loans and for patrons switching their history off (once per process)."""
    if not event.contains(Session, "before_flush", forget_kept_positions_when_history_is_switched_off):
        event.listen(Session, "before_flush", forget_kept_positions_when_history_is_switched_off)
    if forget_position_of_ended_loan not in loan_rows.LOAN_END_HOOKS:
        loan_rows.LOAN_END_HOOKS.append(forget_position_of_ended_loan)
