"""Row locks that serialise lending decisions per title (and per patron for their limits).

On PostgreSQL (READ COMMITTED) a decision such as "a copy is free, lend it" is made only while holding
``SELECT ... FOR NO KEY UPDATE`` on the title row: a second worker lending the same title waits, then
reads the first one's committed loan. ``NO KEY`` so that inserting loans (foreign keys take ``KEY
SHARE``) never conflicts with it. On SQLite every writing transaction begins ``IMMEDIATE`` (see
``elibrary.db``), which serialises writers for the whole database, so no row lock is needed.

Order, to avoid deadlocks: the patron first, then the title; never two titles in one transaction.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.catalog.models import Title
from elibrary.patrons.models import Patron


def _locked(session: Session, stmt):
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(key_share=True)
    return session.scalars(stmt.execution_options(populate_existing=True)).one_or_none()


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
    stmt = select(Title.id).where(Title.id == select(model.title_id).where(model.id == row_id).scalar_subquery())
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(key_share=True)
    return session.scalar(stmt)

