"""What statistics records itself: new registrations (the patrons wing's ``REGISTERED`` hook)."""
from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm import Session

from elibrary.db import utcnow
from elibrary.patrons.facts import age_on
from elibrary.security.crypto import cipher_of
from elibrary.stats.models import RegistrationEvent
from elibrary.usage.counters import tokyo_day

_INSERT = insert(RegistrationEvent.__table__)


def record_registration(session: Session, patron, kind: str) -> None:
    """A new patron: the day, kind, category and age (never who)."""
    day = tokyo_day(utcnow())
    session.connection().execute(_INSERT, {"occurred_on": day, "kind": kind[:12], "category": (patron.category or "")[:40],
                                           "age": age_on(patron, cipher_of(session), day)})
