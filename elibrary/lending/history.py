"""Privacy (図書館の自由) and statistics: de-identified events, and the opt-in reading history."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from elibrary.lending import policy
from elibrary.lending.models import LendingEvent, ReadingHistoryEntry
from elibrary.patrons.models import Patron

_INSERT_EVENT = insert(LendingEvent.__table__)
_INSERT_HISTORY = insert(ReadingHistoryEntry.__table__)


def record_event(session: Session, kind: str, title_id: int, patron: Patron | None, now: datetime, loan_hours: int | None = None) -> None:
    """A de-identified statistics event: category, age band and school, never who.

    Written at once with Core SQL: nothing reads events back in the same transaction.
    """
    session.connection().execute(_INSERT_EVENT, event_row(kind, title_id, patron, now, loan_hours))


def event_row(kind: str, title_id: int, patron, now: datetime, loan_hours: int | None = None) -> dict:
    """The columns of a ``lending_events`` row; ``patron`` is anything with the patron's ``category`` (or None)."""
    return {
        "occurred_on": policy.tokyo_today(now),
        "kind": kind,
        "title_id": title_id,
        "category": patron.category if patron else "",
        "age_band": age_band(patron, now),
        "school": (getattr(patron, "school_code", None) or "")[:40] if patron else "",
        "loan_hours": loan_hours,
    }


def record_reading(session: Session, patron_id: int, title_id: int, borrowed_on: date, returned_on: date) -> None:
    """Keep a finished loan in the reading history (only for a patron who opted in: the caller checks)."""
    session.connection().execute(_INSERT_HISTORY, {"patron_id": patron_id, "title_id": title_id, "borrowed_on": borrowed_on, "returned_on": returned_on})


AGE_BANDS = ((6, "0-5"), (13, "6-12"), (16, "13-15"), (19, "16-18"), (30, "19-29"), (50, "30-49"), (65, "50-64"))


def age_band(patron: Patron | None, now: datetime) -> str:
    """A coarse age band, if the patron's birth year is known (added by the patrons domain)."""
    year = getattr(patron, "birth_year", None) if patron else None
    if not year:
        return ""
    age = policy.tokyo_today(now).year - int(year)
    return next((band for limit, band in AGE_BANDS if age < limit), "65+")


def set_reading_history(session: Session, patron: Patron, keep: bool) -> None:
    """Opt in or out of keeping a reading history; opting out also deletes what was kept."""
    patron.keep_reading_history = keep
    if not keep:
        delete_reading_history(session, patron)
    session.flush()


def delete_reading_history(session: Session, patron: Patron) -> int:
    """Delete the patron's reading history; returns how many entries were removed."""
    result = session.execute(delete(ReadingHistoryEntry).where(ReadingHistoryEntry.patron_id == patron.id))
    session.flush()
    return result.rowcount or 0


def reading_history(session: Session, patron: Patron) -> list[ReadingHistoryEntry]:
    """The patron's kept history, newest first (empty unless they opted in)."""
    return list(
        session.scalars(
            select(ReadingHistoryEntry)
            .where(ReadingHistoryEntry.patron_id == patron.id)
            .order_by(ReadingHistoryEntry.returned_on.desc(), ReadingHistoryEntry.id.desc())
        )
    )
