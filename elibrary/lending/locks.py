"""Row locks that serialise lending decisions per title (and per patron for their limits).

On PostgreSQL (READ COMMITTED) a decision such as "a copy is free, lend it" is made only while holding
``SELECT ... FOR NO KEY UPDATE`` on the title row: a second worker lending the same title waits, then
reads the first one's committed loan. ``NO KEY`` so that inserting loans (foreign keys take ``KEY
SHARE``) never conflicts with it. On SQLite every writing transaction begins ``IMMEDIATE`` (see
``elibrary.db``), which serialises writers for the whole database, so no row lock is needed (SQLAlchemy
compiles ``FOR UPDATE`` to nothing there).

Order, to avoid deadlocks: the patron first, then the title; never two titles in one transaction. Rows of
loans and holds are changed only while their title is locked, so nobody locks a loan before its title.

What a decision reads must be read *after* the lock is granted, in a later statement: under READ
COMMITTED each statement sees the data committed when it started, and a statement that waited for the
lock would still see the world from before the wait. The rows a statement locks are the exception: they
come back as their newest version, or not at all if deleted meanwhile (``loan_rows`` relies on that).

``lock_patron_and_title`` is borrow's hot path (one prepared Core statement, a plain row; return's lock is
in ``loan_rows``); ``lock_title`` and ``lock_patron`` return ORM objects for the less frequent services.
"""
from __future__ import annotations

from sqlalchemy import Integer, bindparam, select
from sqlalchemy.engine import Connection, Row
from sqlalchemy.orm import Session

from elibrary.catalog.models import Title
from elibrary.lending.models import Hold, Loan
from elibrary.lending.readability import readable_file_exists
from elibrary.patrons.models import Patron

_patrons, _titles, _loans, _holds = Patron.__table__, Title.__table__, Loan.__table__, Hold.__table__

_PATRON_AND_TITLE = (
    select(
        _patrons.c.id,
        _patrons.c.category,
        _patrons.c.blocked,
        _patrons.c.block_reason,
        _patrons.c.expires_on,
        _titles.c.status.label("title_status"),
        # not lending decisions, read here to save round trips: whether there is a file to read, and the
        # title's facts that statistics copy into the loan's event (``history.TitleFacts``)
        readable_file_exists(_titles.c.id).label("title_readable"),
        _titles.c.ndc,
        _titles.c.audience,
        _titles.c.format,
    )
    .join_from(_patrons, _titles, _titles.c.id == bindparam("title_id", type_=Integer))
    .where(_patrons.c.id == bindparam("patron_id", type_=Integer))
    .with_for_update(key_share=True, of=[_patrons, _titles])  # PostgreSQL locks them in this order
)


def _title_of(table):
    row_title = select(table.c.title_id).where(table.c.id == bindparam("row_id", type_=Integer)).scalar_subquery()
    return select(_titles.c.id).where(_titles.c.id == row_title).with_for_update(key_share=True)


_TITLE_OF = {Loan: _title_of(_loans), Hold: _title_of(_holds)}


def lock_patron_and_title(connection: Connection, patron_id: int, title_id: int) -> Row | None:
    """Both locks of a borrow in one statement, patron first: the patron's lending fields, ``title_status``,
    ``title_readable`` (an EPUB or PDF exists) and the title's ``ndc``, ``audience`` and ``format``.

    None if either row is missing (the caller asks which, on that rare path).
    """
    return connection.execute(_PATRON_AND_TITLE, {"patron_id": patron_id, "title_id": title_id}).first()


def _locked(session: Session, stmt):
    return session.scalars(stmt.with_for_update(key_share=True).execution_options(populate_existing=True)).one_or_none()


def lock_title(session: Session, title_id: int) -> Title | None:
    """The title, locked against other lending decisions until this transaction ends."""
    return _locked(session, select(Title).where(Title.id == title_id))


def lock_patron(session: Session, patron_id: int) -> Patron | None:
    """The patron, re-read and locked so two tabs cannot both take their last free loan."""
    return _locked(session, select(Patron).where(Patron.id == patron_id))


def lock_title_of(session: Session, model, row_id: int) -> int | None:
    """Lock the title of a loan or hold (``model`` is ``Loan`` or ``Hold``); its id, or None if the row is gone.

    The caller re-reads the row afterwards: under READ COMMITTED it may have ended while we waited.
    """
    return session.connection().execute(_TITLE_OF[model], {"row_id": row_id}).scalar()
