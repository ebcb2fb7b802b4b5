"""The invariants of lending: checked by the race and property tests, counted by ``bench/lending.py``."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.lending.availability import free_copies
from elibrary.lending.models import Hold, HoldState, License, Loan


def violations(session: Session, now: datetime) -> list[str]:
    """Every broken invariant, as text (empty when all hold)."""
    problems = []
    licenses = session.scalars(select(License)).all()
    loans = Counter(session.scalars(select(Loan.license_id)).all())
    holds = session.scalars(select(Hold).order_by(Hold.title_id, Hold.queue_seq)).all()
    ready = Counter(h.license_id for h in holds if h.state == HoldState.ready)
    for lic in licenses:
        if lic.is_open:
            continue
        if loans[lic.id] + ready[lic.id] > (lic.copies or 0):
            problems.append(f"licence {lic.id}: {loans[lic.id]} loans + {ready[lic.id]} ready > {lic.copies} copies")
        if lic.loans_remaining is not None and lic.loans_remaining < 0:
            problems.append(f"licence {lic.id}: loans_remaining {lic.loans_remaining} < 0")
        if lic.loans_total is not None and lic.loans_remaining is not None and lic.loans_remaining + 0 > lic.loans_total:
            problems.append(f"licence {lic.id}: more loans left than bought")
    by_title = defaultdict(list)
    for hold in holds:
        by_title[hold.title_id].append(hold)
        if hold.state == HoldState.ready and (hold.license_id is None or hold.ready_until is None):
            problems.append(f"hold {hold.id}: ready without a reserved copy")
    for title_id, queue in by_title.items():
        seqs = [h.queue_seq for h in queue]
        if len(set(seqs)) != len(seqs):
            problems.append(f"title {title_id}: duplicate queue places {seqs}")
        lending = [lic for lic in licenses if lic.title_id == title_id and lic.stop_reason(now) is None]
        free = free_copies(session, title_id, lending)
        if any(h.state == HoldState.waiting for h in queue) and any(v is None or v > 0 for v in free.values()):
            problems.append(f"title {title_id}: a copy is free while a hold waits (a turn was skipped)")
    pairs = Counter((loan.patron_id, loan.title_id) for loan in session.scalars(select(Loan)))
    problems += [f"patron {p} has title {t} twice" for (p, t), n in pairs.items() if n > 1]
    return problems


def queue_positions(session: Session, title_id: int) -> list[int]:
    """The positions patrons are shown, in queue order (must be 1..n)."""
    from elibrary.lending.availability import availability
    from elibrary.patrons.models import Patron

    holds = session.scalars(select(Hold).where(Hold.title_id == title_id).order_by(Hold.queue_seq)).all()
    return [availability(session, title_id, session.get(Patron, h.patron_id)).position for h in holds]
