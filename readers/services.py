"""Where patrons stopped reading, and who may read what: plain functions over a session (no Flask).

A licensed title is readable only while the patron holds a current loan (checked on every request,
so a returned loan closes every resource URL at once); open titles are readable by anyone. That rule
(``grant_reading``) lives in ``elibrary.lending.grants``, shared with OPDS; it is re-exported here.
"""
from __future__ import annotations

import math

from sqlalchemy import Integer, bindparam, delete, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Delete

from elibrary.db import utcnow
from elibrary.errors import InvalidInput
from elibrary.lending.grants import (  # noqa: F401 - the readers' names for the shared reading rule
    EPUB,
    PDF,
    NoReadableFile,
    NotReadable,
    ReadingGrant,
    grant_for_content,
    grant_reading,
    is_open_title,
    readable_file,
)
from elibrary.lending.loan_rows import EndingLoan
from elibrary.patrons.models import Patron
from readers.models import ReadingPosition

MAX_BOOKMARKS = 200


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


# built once: it runs in every return, carried by the statement that ends the loan (``loan_rows.LOAN_END``)
_DELETE_POSITION_OF_LOAN = delete(ReadingPosition.__table__).where(
    ReadingPosition.__table__.c.loan_id == bindparam("reading_position_loan_id", type_=Integer)
)


def forget_position_of_ended_loan(loan: EndingLoan) -> tuple[Delete, dict] | None:
    """A loan ends (``loan_rows.close_loan``, the one place loans are deleted): its position goes unless the patron keeps a history.

    Returns the deletion for the loan's own statement to run. When they keep a history, nothing: the foreign key
    sets the position's ``loan_id`` to NULL and it waits for their next loan.
    """
    if loan.keep_reading_history:
        return None
    return _DELETE_POSITION_OF_LOAN, {"reading_position_loan_id": loan.id}
