"""Writing, searching, exporting and verifying the staff access log (the keyed chain: ``audit.chain``)."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.audit.chain import GENESIS, Anchor, AuditChain, chain_of
from elibrary.audit.models import AccessLogEntry
from elibrary.audit.recording import ACTIONS, Access, record, record_now  # noqa: F401  (API)
from elibrary.csvcells import safe_cell
from elibrary.db import Database

CSV_COLUMNS = ("id", "at", "staff_email", "address", "action", "subject", "patron_id", "fields", "detail", "entry_hash")


def anchor_latest(db: Database, chain: AuditChain) -> Anchor | None:
    """Write the newest committed entry to the anchor file (after each commit that added one)."""
    with db.scope(write=False) as session:
        last = session.execute(select(AccessLogEntry.id, AccessLogEntry.entry_hash).order_by(AccessLogEntry.id.desc()).limit(1)).first()
    if last is None:
        return None
    anchor = Anchor(last.id, last.entry_hash)
    chain.write_anchor(anchor)
    return anchor


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
    """The entries as CSV (UTF-8 with BOM added by the caller for Excel when wanted), formula cells neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        writer.writerow(
            [safe_cell(value) for value in (
                entry.id, entry.at.isoformat(), entry.staff_email, entry.address, entry.action, entry.subject,
                entry.patron_id if entry.patron_id is not None else "", entry.fields, entry.detail, entry.entry_hash)]
        )
    return out.getvalue()


@dataclass(frozen=True)
class Verification:
    """Result of checking the chain."""

    ok: bool
    checked: int
    first_bad_id: int | None = None
    reason: str = ""


def each_entry(session: Session, batch: int = 1000) -> Iterator[AccessLogEntry]:
    """Every entry, oldest first, read in batches."""
    last_id = 0
    while True:
        rows = session.scalars(select(AccessLogEntry).where(AccessLogEntry.id > last_id).order_by(AccessLogEntry.id).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def verify(session: Session, anchor: Anchor | None = None, *, chain: AuditChain | None = None) -> Verification:
    """Recompute every keyed hash and link, then check the anchor (the chain's newest entry known outside the
    database: the anchor file, or ``anchor`` when given); the first entry that does not fit is reported."""
    chain = chain or chain_of(session)
    try:
        anchor = anchor or chain.read_anchor()
    except ValueError as exc:
        return Verification(False, 0, None, str(exc))
    prev_hash, checked, last_id, anchored = GENESIS, 0, 0, False
    for entry in each_entry(session):
        if entry.prev_hash != prev_hash:
            return Verification(False, checked, entry.id, "link to the previous entry is broken (an entry was removed or inserted)")
        if chain.digest(prev_hash, entry) != entry.entry_hash:
            return Verification(False, checked, entry.id, "entry content does not match its keyed hash (it was changed or forged)")
        if anchor is not None and entry.id == anchor.entry_id:
            if entry.entry_hash != anchor.entry_hash:
                return Verification(False, checked, entry.id, "entry differs from the anchor kept outside the database (the log was rewritten)")
            anchored = True
        prev_hash, last_id = entry.entry_hash, entry.id
        checked += 1
    if anchor is not None and not anchored:
        return Verification(False, checked, anchor.entry_id, "the newest entries were removed: the anchor outside the database names "
                            f"entry {anchor.entry_id}, the log ends at {last_id or 'nothing'}")
    if anchor is None and checked:
        return Verification(False, checked, None, "the anchor file is missing, so removal of the newest entries cannot be ruled out (see elibrary init)")
    return Verification(True, checked)
