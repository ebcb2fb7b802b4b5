"""The detailed health report: every part a monitoring system watches, each ``{"ok": bool, ...}``.

Unlike ``/healthz`` (which a load balancer reads, so it fails only when this server cannot serve: the
database, the search index or the storage unreadable), this report also fails for what needs a person
but not a restart: the ILS not answering, an outbox backlog, a failed or old backup, a job that stopped
running. No personal data is in it.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from elibrary import jobs
from elibrary.backup import schedule as backups
from elibrary.notify.models import OutboxMessage
from elibrary.notify.outbox import MAX_ATTEMPTS

OUTBOX_STUCK = timedelta(hours=1)  # a message due this long ago and still unsent is a backlog
DAILY_GRACE = timedelta(hours=2)  # a daily job this late has stopped running
INTERVAL_GRACE = 3  # an interval job not run for this many intervals has stopped running


def _guard(check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return check()
    except Exception as exc:  # report, never raise: this page must answer when things are broken
        return {"ok": False, "error": type(exc).__name__}


def outbox(session: Session, now: datetime) -> dict[str, Any]:
    """Messages waiting, the oldest one's age, and those given up."""
    waiting = (OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < MAX_ATTEMPTS)
    backlog = session.scalar(select(func.count()).select_from(OutboxMessage).where(*waiting, OutboxMessage.deliver_after <= now))
    oldest = session.scalar(select(func.min(OutboxMessage.deliver_after)).where(*waiting))
    failed = session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None),
                                                                                  OutboxMessage.attempts >= MAX_ATTEMPTS))
    age = (now - oldest).total_seconds() if oldest is not None and oldest <= now else 0
    return {"ok": age < OUTBOX_STUCK.total_seconds(), "backlog": backlog, "oldest_seconds": round(age), "given_up": failed}


def scheduler(runtime: Any, now: datetime) -> dict[str, Any]:
    """Each declared job: last run, next due, and whether it is overdue (it stopped running)."""
    report: dict[str, Any] = {"ok": True, "jobs": {}}
    for job in runtime.jobs:
        last = jobs.last_run(runtime.db, job.name)
        due = job.schedule.next_due(last, now)
        if job.schedule.daily_at is not None:  # due since today's (or yesterday's) slot, and that slot is long past
            overdue = last is not None and job.schedule.is_due(last, now) and now - job.schedule.latest_slot(now) > DAILY_GRACE
        else:
            overdue = last is not None and now - last > job.schedule.interval * INTERVAL_GRACE
        report["jobs"][job.name] = {"schedule": job.schedule.describe(), "last_run": last.isoformat() if last else None,
                                    "next_due": due.isoformat(), "overdue": overdue}
        report["ok"] = report["ok"] and not overdue
    return report


def detail(runtime: Any, session: Session, now: datetime) -> tuple[bool, dict[str, Any]]:
    """Every check; whether all are ok."""
    def database() -> dict[str, Any]:
        session.execute(text("SELECT 1"))
        return {"ok": True, "engine": runtime.db.engine.dialect.name}

    def search() -> dict[str, Any]:
        status = dict(runtime.search.status())
        status["lag"] = runtime.indexer.lag(session)
        return status

    def booktext() -> dict[str, Any]:
        status = dict(runtime.booktext.status())
        status["lag"] = runtime.text_indexer.lag(session)
        return status

    checks = {"database": _guard(database)}
    if not checks["database"]["ok"]:
        session.rollback()
    checks["search"] = _guard(search)
    if getattr(runtime, "booktext", None) is not None and getattr(runtime, "text_indexer", None) is not None:
        checks["booktext"] = _guard(booktext)  # 本文検索: the book-text index and its lag behind the change log
    checks["storage"] = _guard(runtime.storage.status)
    checks["ils"] = _guard(runtime.ils.status)
    checks["outbox"] = _guard(lambda: outbox(session, now))
    checks["backup"] = _guard(lambda: backups.status(session, runtime.settings, now))
    checks["scheduler"] = _guard(lambda: scheduler(runtime, now))
    state = runtime.maintenance.current() if runtime.maintenance is not None else None
    maintenance = {"ok": True, "on": bool(state and state.active(now))}
    if state is not None:
        maintenance.update(read_only=state.read_only, starts_at=state.starts_at.isoformat() if state.starts_at else None,
                           until=state.until.isoformat() if state.until else None)
    checks["maintenance"] = maintenance
    return all(check.get("ok") for check in checks.values()), checks
