"""The scrape-time gauges read from the database (declared in ``elibrary.wiring._declare_gauges``)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from elibrary.lending.models import Hold, HoldState, Loan
from elibrary.notify.models import OutboxMessage
from elibrary.notify.outbox import MAX_ATTEMPTS
from elibrary.security.events import SecurityEvent


def loans_active(session: Session, _runtime: Any) -> float:
    """Current loans (a loan row is deleted when it ends)."""
    return session.scalar(select(func.count()).select_from(Loan)) or 0


def holds_waiting(session: Session, _runtime: Any) -> float:
    """Holds still waiting for a copy."""
    return session.scalar(select(func.count()).select_from(Hold).where(Hold.state == HoldState.waiting)) or 0


def outbox_backlog(session: Session, _runtime: Any) -> float:
    """Messages not yet sent and not given up."""
    query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < MAX_ATTEMPTS)
    return session.scalar(query) or 0


def search_index_lag(session: Session, runtime: Any) -> float | None:
    """Changes this server's search index has not applied yet (None before it first followed the log)."""
    behind = runtime.indexer.lag(session).get("behind")
    return None if behind is None else float(behind)


def security_lockouts_last_hour(session: Session, _runtime: Any) -> float:
    """Sign-in locks started in the last hour (alert when it rises)."""
    from datetime import timedelta

    from elibrary.db import utcnow

    since = utcnow() - timedelta(hours=1)
    query = select(func.count()).select_from(SecurityEvent).where(SecurityEvent.kind == "signin.lockout", SecurityEvent.at >= since)
    return session.scalar(query) or 0
