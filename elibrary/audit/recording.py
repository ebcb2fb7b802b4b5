"""Writing one entry of the staff access log (the keyed chain: ``audit.chain``).

A shared piece of the audit wing that other wings may use to record an access (LINE linking, the
patrons' staff pages) without importing ``audit.services`` (search, export, verification), which
re-exports these.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from elibrary.audit.chain import AFTER_COMMIT_TASK, GENESIS, chain_of
from elibrary.audit.models import AccessLogEntry
from elibrary.db import Database, request_after_commit, utcnow

ACTIONS = ("view", "search", "export", "change", "erase")


@dataclass(frozen=True)
class Access:
    """One access to record."""

    staff_id: int | None
    staff_email: str
    address: str | None
    action: str
    subject: str = ""
    patron_id: int | None = None
    fields: tuple[str, ...] = ()
    detail: str = ""


def record(session: Session, access: Access) -> AccessLogEntry:
    """Append one entry in the caller's transaction (for changes, so entry and change commit together).

    Its hash is keyed (``chain.AuditChain``); once the transaction commits, the anchor file is moved to it.
    """
    if access.action not in ACTIONS:
        raise ValueError(f"unknown audit action {access.action!r}")
    chain = chain_of(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7407)"))  # one writer at a time: a single chain
    last = session.scalar(select(AccessLogEntry).order_by(AccessLogEntry.id.desc()).limit(1))
    prev_hash = last.entry_hash if last is not None else GENESIS
    at = utcnow()
    if last is not None and at < last.at:
        at = last.at  # keep time order even if the clock stepped back
    entry = AccessLogEntry(
        at=at,
        staff_id=access.staff_id,
        staff_email=access.staff_email[:254],
        address=(access.address or "")[:64],
        action=access.action,
        subject=access.subject[:60],
        patron_id=access.patron_id,
        fields=",".join(access.fields)[:300],
        detail=access.detail[:300],
        prev_hash=prev_hash,
    )
    entry.entry_hash = chain.digest(prev_hash, entry)
    session.add(entry)
    session.flush()
    request_after_commit(session, AFTER_COMMIT_TASK)
    return entry


def record_many(session: Session, accesses: list[Access]) -> int:
    """Append many entries in the caller's transaction, chained in order, with one lock and one flush
    (a roll-over of 3,000 pupils logs each change without 9,000 round trips)."""
    if not accesses:
        return 0
    for access in accesses:
        if access.action not in ACTIONS:
            raise ValueError(f"unknown audit action {access.action!r}")
    chain = chain_of(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7407)"))
    session.flush()  # entries added one by one before this batch come first
    last = session.scalar(select(AccessLogEntry).order_by(AccessLogEntry.id.desc()).limit(1))
    prev_hash = last.entry_hash if last is not None else GENESIS
    at = utcnow()
    if last is not None and at < last.at:
        at = last.at
    for access in accesses:
        entry = AccessLogEntry(at=at, staff_id=access.staff_id, staff_email=access.staff_email[:254], address=(access.address or "")[:64],
                               action=access.action, subject=access.subject[:60], patron_id=access.patron_id,
                               fields=",".join(access.fields)[:300], detail=access.detail[:300], prev_hash=prev_hash)
        entry.entry_hash = prev_hash = chain.digest(prev_hash, entry)
        session.add(entry)
    session.flush()
    request_after_commit(session, AFTER_COMMIT_TASK)
    return len(accesses)


def record_now(db: Database, access: Access) -> None:
    """Append one entry in a transaction of its own (for page views: the access happened either way)."""
    with db.scope() as session:
        record(session, access)
