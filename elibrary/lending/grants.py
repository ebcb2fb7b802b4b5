"""Who may read what now (閲覧の許可): a licensed title while the patron holds a current loan, an open title by anyone.

Checked on every request by the browser readers (``readers``) and by OPDS downloads (``elibrary.opds``),
so a returned loan closes every resource URL at once. Both use this module; neither imports the other.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from elibrary.catalog.models import BookFile, Title, TitleStatus
from elibrary.db import utcnow
from elibrary.errors import Forbidden, NotFound
from elibrary.lending import services as lending
from elibrary.lending.models import License, LicenseModel, Loan
from elibrary.patrons.models import Patron

EPUB = "application/epub+zip"
PDF = "application/pdf"


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
