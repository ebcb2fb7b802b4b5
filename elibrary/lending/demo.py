"""Demo licences (called by ``elibrary.demo`` through its lending hook).

The demo shows every licence model: open titles anyone reads, one-copy titles, class sets, metered
loans and metered time (月夜の郵便局's licence also allows searching its text, 本文検索, as the open titles'
do); one title is on loan to the demo student with the demo citizen waiting.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.catalog.models import Title
from elibrary.db import utcnow
from elibrary.lending import services
from elibrary.patrons.models import Patron

# Demo key -> (model, terms). Titles not named here get one one-copy licence.
LICENSES = {
    "dayori": ("open", {}),
    "bousai": ("open", {}),
    "kyodo": ("open", {}),
    "mukashibanashi": ("open", {}),
    "python": ("concurrent", {"copies": 40}),  # a class set
    "seiza": ("concurrent", {"copies": 30}),
    "rika": ("concurrent", {"copies": 30}),
    "hyakunin": ("concurrent", {"copies": 3}),
    "moon-post-1": ("metered-loans", {"copies": 2, "loans": 26, "text_search": True}),  # the publisher allows 本文検索
    "toshokan-machi": ("metered-loans", {"copies": 1, "loans": 52}),
    "lighthouse": ("metered-time", {"copies": 2, "days": 730}),
    "juyon": ("metered-time", {"copies": 1, "days": 365}),
}



def add_demo_licenses(session: Session, titles: list[Title]) -> None:
    """Licences for the demo titles added in this run; the demo patrons get a loan and a waitlist."""
    now = utcnow()
    by_key = {}
    for title in titles:
        model, terms = LICENSES.get(title.source_record_id or "", ("one-copy", {}))
        terms = dict(terms)
        days = terms.pop("days", None)
        until = (now + timedelta(days=days)).date() if days else None
        services.add_license(session, title.id, model, until=until, now=now, **terms)
        by_key[title.source_record_id] = title
    patrons = _demo_patrons(session, now)
    student, citizen = patrons.get("student"), patrons.get("citizen")
    busy = by_key.get("mushimegane")  # one copy, out to the demo student; the demo citizen waits for it
    if busy is not None and student is not None and citizen is not None:
        services.borrow(session, student, busy.id, now=now - timedelta(days=3))
        services.place_hold(session, citizen, busy.id, now=now)
    metered = by_key.get("toshokan-machi")
    if metered is not None and citizen is not None:
        services.borrow(session, citizen, metered.id, now=now - timedelta(days=1))


def _demo_patrons(session: Session, now) -> dict[str, Patron]:
    """The demo patrons ``elibrary.demo`` has just created (local, made within the last hour), by category."""
    recent = session.scalars(
        select(Patron).where(Patron.source == "local", Patron.created_at >= now - timedelta(hours=1)).order_by(Patron.id)
    ).all()
    found: dict[str, Patron] = {}
    for patron in recent:
        found.setdefault(patron.category, patron)
    return found
