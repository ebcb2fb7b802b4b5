"""Writing, searching, exporting and verifying the staff access log."""
from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from elibrary.audit.models import AccessLogEntry
from elibrary.db import Database, utcnow

GENESIS = "0" * 64
ACTIONS = ("view", "search", "export", "change", "erase")
CSV_COLUMNS = ("id", "at", "staff_email", "address", "action", "subject", "patron_id", "fields", "detail", "entry_hash")


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


def _digest(prev_hash: str, entry: AccessLogEntry) -> str:
    content = {
        "prev": prev_hash,
        "at": entry.at.astimezone(timezone.utc).isoformat(timespec="microseconds"),
        "staff_id": entry.staff_id,
        "staff_email": entry.staff_email,
        "address": entry.address,
        "action": entry.action,
        "subject": entry.subject,
        "patron_id": entry.patron_id,
        "fields": entry.fields,
        "detail": entry.detail,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def record(session: Session, access: Access) -> AccessLogEntry:
    """Append one entry in the caller's transaction (for changes, so entry and change commit together)."""
    if access.action not in ACTIONS:
        raise ValueError(f"unknown audit action {access.action!r}")
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
    entry.entry_hash = _digest(prev_hash, entry)
    session.add(entry)
    session.flush()
    return entry


def record_now(db: Database, access: Access) -> None:
    """Append one entry in a transaction of its own (for page views: the access happened either way)."""
    with db.scope() as session:
        record(session, access)


def search(
    session: Session,
    *,
    patron_id: int | None = None,
    patron_ids: Iterable[int] | None = None,
    staff_email: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = 1000,
) -> list[AccessLogEntry]:
    """Entries matching every given filter, oldest first."""
    query = select(AccessLogEntry).order_by(AccessLogEntry.id)
    if patron_id is not None:
        query = query.where(AccessLogEntry.patron_id == patron_id)
    if patron_ids is not None:
        query = query.where(AccessLogEntry.patron_id.in_(list(patron_ids)))
    if staff_email:
        query = query.where(AccessLogEntry.staff_email == staff_email.strip().lower())
    if since is not None:
        query = query.where(AccessLogEntry.at >= since)
    if until is not None:
        query = query.where(AccessLogEntry.at < until)
    if limit:
        query = query.limit(limit)
    return list(session.scalars(query))


def to_csv(entries: Iterable[AccessLogEntry]) -> str:
    """The entries as CSV (UTF-8 with BOM added by the caller for Excel when wanted)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        writer.writerow(
            [entry.id, entry.at.isoformat(), entry.staff_email, entry.address, entry.action, entry.subject,
             entry.patron_id if entry.patron_id is not None else "", entry.fields, entry.detail, entry.entry_hash]
        )
    return out.getvalue()


@dataclass(frozen=True)
class Verification:
    """Result of checking the chain."""

    ok: bool
    checked: int
    first_bad_id: int | None = None
    reason: str = ""


def _entries(session: Session, batch: int = 1000) -> Iterator[AccessLogEntry]:
    last_id = 0
    while True:
        rows = session.scalars(select(AccessLogEntry).where(AccessLogEntry.id > last_id).order_by(AccessLogEntry.id).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def verify(session: Session) -> Verification:
    """Recompute every hash and link; the first entry that does not fit is reported."""
    prev_hash = GENESIS
    checked = 0
    for entry in _entries(session):
        if entry.prev_hash != prev_hash:
            return Verification(False, checked, entry.id, "link to the previous entry is broken (an entry was removed or inserted)")
        if _digest(prev_hash, entry) != entry.entry_hash:
            return Verification(False, checked, entry.id, "entry content does not match its hash (it was changed)")
        prev_hash = entry.entry_hash
        checked += 1
    return Verification(True, checked)
