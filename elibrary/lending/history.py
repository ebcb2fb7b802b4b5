"""Privacy (図書館の自由) and statistics: de-identified events, and the opt-in reading history."""
from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.orm import Session

from elibrary.catalog.models import Title
from elibrary.db import hooks_of
from elibrary.lending import policy
from elibrary.lending.models import LendingEvent, License, ReadingHistoryEntry
from elibrary.patrons.facts import age_on
from elibrary.patrons.models import Patron
from elibrary.security.crypto import cipher_of
from elibrary.security.yearkeys import year_keys_of

_INSERT_EVENT = insert(LendingEvent.__table__)
_INSERT_HISTORY = insert(ReadingHistoryEntry.__table__)
_titles, _licenses = Title.__table__, License.__table__
_TITLE_FACTS = select(_titles.c.ndc, _titles.c.audience, _titles.c.format).where(_titles.c.id == bindparam("title_id"))
_LICENSE_MODEL = select(_licenses.c.model).where(_licenses.c.id == bindparam("license_id"))

# Other wings tell statistics more about a patron: each callable ``fn(session, patron) -> dict`` may give
# ``school``, ``grade`` and ``age`` (the schools wing: a pupil's school, grade and age from the roster).
# The wiring room adds them to each runtime's database; their answers are merged in the order added.
PATRON_FACTS = "lending.patron_facts"
CHANNELS = ("web", "opds", "line")  # the site, a reading app through OPDS, the LINE MINI App


def record_event(session: Session, kind: str, title_id: int, patron, now: datetime, loan_hours: int | None = None, **facts) -> None:
    """A de-identified statistics event: the patron's category, age, school and a per-年度 key, never who.

    Written at once with Core SQL: nothing reads events back in the same transaction.
    """
    session.connection().execute(_INSERT_EVENT, event_row(session, kind, title_id, patron, now, loan_hours, **facts))


class TitleFacts(NamedTuple):
    """What an event copies of its title (a caller that has read them passes them; otherwise they are read)."""

    ndc: str | None
    audience: object
    format: object


def event_row(session: Session, kind: str, title_id: int, patron, now: datetime, loan_hours: int | None = None, *,
              license_id: int | None = None, license_model: str = "", channel: str = "", from_hold: bool = False,
              title_facts: TitleFacts | None = None) -> dict:
    """The columns of a ``lending_events`` row; ``patron`` is a ``Patron``, or a row with its ``id`` (or ``patron_id``) and ``category``."""
    local = now.astimezone(policy.TOKYO)
    day = local.date()
    connection = session.connection()
    title = title_facts or connection.execute(_TITLE_FACTS, {"title_id": title_id}).first()
    if license_id is not None and not license_model:
        model = connection.execute(_LICENSE_MODEL, {"license_id": license_id}).scalar()
        license_model = getattr(model, "value", model) or ""
    row = {
        "occurred_on": day, "kind": kind, "title_id": title_id, "category": patron.category if patron else "", "age_band": "",
        "school": "", "loan_hours": loan_hours, "age": None, "grade": "", "license_id": license_id,
        "license_model": str(getattr(license_model, "value", license_model))[:20], "channel": channel if channel in CHANNELS else "",
        "borrower_key": None, "hour": local.hour, "weekday": local.weekday(), "from_hold": from_hold,
        "ndc": _ndc3(title.ndc) if title else "", "audience": _value(title.audience) if title else "",
        "format": _value(title.format) if title else "",
    }
    if patron is not None:
        row.update(patron_facts(session, patron, day))
    return row


def _value(enum_or_text) -> str:
    return str(getattr(enum_or_text, "value", enum_or_text) or "")


def _ndc3(ndc: str | None) -> str:
    digits = "".join(ch for ch in (ndc or "") if ch.isdigit())
    return digits[:3]


def patron_facts(session: Session, patron, day: date) -> dict:
    """``age``, ``school``, ``grade`` and ``borrower_key`` of the patron on ``day`` (the date of birth is read, never kept)."""
    patron_id = getattr(patron, "patron_id", None) or patron.id
    full = patron if isinstance(patron, Patron) else session.get(Patron, patron_id)
    facts: dict = {"age": None, "school": "", "grade": "", "borrower_key": None}
    if full is None:
        return facts
    facts["age"] = age_on(full, cipher_of(session), day)
    for hook in hooks_of(session, PATRON_FACTS):
        found = hook(session, full) or {}
        for name in ("school", "grade", "age"):
            if found.get(name) not in (None, ""):
                facts[name] = found[name]
    facts["school"] = str(facts["school"])[:40]
    facts["grade"] = str(facts["grade"])[:10]
    keys = year_keys_of(session)
    if keys is not None:
        facts["borrower_key"] = keys.borrower_key(session, patron_id, day)
    return facts


def record_reading(session: Session, patron_id: int, title_id: int, borrowed_on: date, returned_on: date) -> None:
    """Keep a finished loan in the reading history (only for a patron who opted in: the caller checks)."""
    session.connection().execute(_INSERT_HISTORY, {"patron_id": patron_id, "title_id": title_id, "borrowed_on": borrowed_on, "returned_on": returned_on})


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
