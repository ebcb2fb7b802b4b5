"""Paper-book notices from the ILS: poll linked patrons' holds ready at the counter and overdue loans.

Only for connectors with the optional ``PaperCirculation`` capability (SIP2 today). Each pass asks the
ILS about linked patrons, least recently polled first, within a time budget and several at once; what
is new since the last poll becomes a notice (on the patron's channels, through the outbox), what the
ILS no longer lists is forgotten, so the same hold or overdue is never notified twice.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from elibrary.db import Database, utcnow
from elibrary.ils.base import ILSError, PaperCirculation, PaperItems
from elibrary.line.models import LineLink, PaperNotice
from elibrary.line.recipients import LINE_TEXTS, messages_for
from elibrary.notify.outbox import enqueue
from elibrary.patrons.models import Patron
from elibrary.security.crypto import DataCipher

log = logging.getLogger(__name__)
KINDS = {"paper-hold-ready": ("予約した本のご用意ができました", "holds_ready"), "overdue": ("返却期限を過ぎた本があります", "overdue")}


@dataclass
class PollReport:
    """What one pass did."""

    polled: int = 0
    notices: int = 0
    failed: int = 0
    stopped_by_budget: bool = False


def poll(db: Database, ils, cipher: DataCipher, *, budget_seconds: float = 1800, workers: int = 4, batch: int = 200,
         now: Callable[[], datetime] = utcnow, clock: Callable[[], float] = time.monotonic) -> PollReport:
    """One polling pass over linked patrons (oldest poll first) until all are done or the budget is spent."""
    report = PollReport()
    if not isinstance(ils, PaperCirculation):
        log.info("the ILS connector cannot report paper holds and overdues; nothing to poll")
        return report
    deadline = clock() + budget_seconds
    queue = _pass_order(db)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="ils-poll") as pool:
        for start in range(0, len(queue), batch):
            if clock() >= deadline:
                report.stopped_by_budget = True
                return report
            targets = _cards(db, cipher, queue[start : start + batch])
            results = list(pool.map(lambda target: _ask(ils, target), targets))
            with db.scope() as session:
                for (patron_id, _card), items in zip(targets, results, strict=True):
                    if items is None:
                        report.failed += 1
                    else:
                        report.notices += apply(session, cipher, patron_id, items, now())
                    link = session.scalar(select(LineLink).where(LineLink.patron_id == patron_id))
                    if link is not None:
                        link.paper_polled_at = now()
                    report.polled += 1
    return report


def _pass_order(db: Database) -> list[int]:
    """Linked, unblocked patrons, least recently polled first (a pass cut by the budget resumes there next time)."""
    with db.scope(write=False) as session:
        query = (
            select(LineLink.patron_id)
            .where(LineLink.blocked_at.is_(None))
            .order_by(LineLink.paper_polled_at.is_not(None), LineLink.paper_polled_at, LineLink.id)
        )
        return list(session.scalars(query))


def _cards(db: Database, cipher: DataCipher, patron_ids: list[int]) -> list[tuple[int, str]]:
    with db.scope(write=False) as session:
        rows = dict(session.execute(select(Patron.id, Patron.card_enc).where(Patron.id.in_(patron_ids))).all())
    return [(pid, cipher.decrypt(rows[pid], "patron.card") or "") for pid in patron_ids if pid in rows]


def _ask(ils, target: tuple[int, str]) -> PaperItems | None:
    try:
        return ils.paper_items(target[1])
    except ILSError:
        return None  # counted as failed; asked again in the next pass


def apply(session: Session, cipher: DataCipher, patron_id: int, items: PaperItems, now: datetime) -> int:
    """Notify what is new for this patron, forget what the ILS no longer lists; returns notices queued."""
    patron = session.get(Patron, patron_id)
    if patron is None:
        return 0
    queued = 0
    for kind, (subject, attribute) in KINDS.items():
        current = {cipher.lookup_hash(f"item:{item}") for item in getattr(items, attribute)}
        known = set(session.scalars(select(PaperNotice.item_hash).where(PaperNotice.patron_id == patron_id, PaperNotice.kind == kind)))
        gone = known - current
        if gone:
            session.execute(delete(PaperNotice).where(PaperNotice.patron_id == patron_id, PaperNotice.kind == kind, PaperNotice.item_hash.in_(gone)))
        new = current - known
        if not new:
            continue
        session.add_all(PaperNotice(patron_id=patron_id, kind=kind, item_hash=h, notified_at=now) for h in new)
        body = LINE_TEXTS[kind] if len(new) == 1 else f"{LINE_TEXTS[kind]}（{len(new)}冊）"
        for message in messages_for(session, cipher, patron, kind=kind, subject=subject, body=body):
            enqueue(session, cipher, message)
        queued += 1
    session.flush()
    return queued


def linked_count(session: Session) -> int:
    """How many linked patrons a full pass covers."""
    from sqlalchemy import func

    return session.scalar(select(func.count()).select_from(LineLink).where(LineLink.blocked_at.is_(None))) or 0


def scheduled_poll(runtime, _now: datetime) -> str:
    """The ``line-poll`` job: one budgeted pass, then the notices it queued are delivered (after quiet hours)."""
    settings = runtime.settings
    budget = float(settings.get("ELIBRARY_LINE_POLL_BUDGET_MINUTES") or 30) * 60
    workers = int(settings.get("ELIBRARY_SIP2_POOL_SIZE") or 4)
    report = poll(runtime.db, runtime.ils, runtime.cipher, budget_seconds=budget, workers=workers)
    runtime.deliver_notifications()
    return (f"polled {report.polled}, notices {report.notices}, failed {report.failed}"
            + (" (stopped by the time budget; the next pass continues)" if report.stopped_by_budget else ""))
