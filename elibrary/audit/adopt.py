"""Bringing an access log from before the audit key under the key, once (run by ``elibrary init``).

Entries written before the key existed carry unkeyed SHA-256 links. ``adopt`` checks that old chain end
to end; only if it is intact, and only while no anchor file exists (the first ``init`` after the upgrade,
or a restore of a backup from before it), every link is recomputed under the key in one transaction
(the append-only triggers are lifted for that transaction only, which needs the table's owner, as
``init`` runs), and the newest entry becomes the anchor. A tampered old chain is never re-chained: it is
reported and left for ``audit verify`` to name. Once an anchor exists, nothing here changes a row again,
so someone who later rewrites the table with unkeyed hashes cannot have ``init`` launder it.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from elibrary.audit.chain import GENESIS, Anchor, AuditChain, legacy_digest
from elibrary.audit.models import AccessLogEntry
from elibrary.audit.services import each_entry, verify


@dataclass(frozen=True)
class Adoption:
    """What ``adopt`` found and did; ``anchor`` is to be written once the transaction has committed."""

    message: str
    anchor: Anchor | None = None
    ok: bool = True


def adopt(session: Session, chain: AuditChain) -> Adoption:
    """Re-chain an intact pre-key log under the key, or anchor a keyed log that has no anchor yet."""
    try:
        if chain.read_anchor() is not None:
            return Adoption("access log: anchored")
    except ValueError as exc:
        return Adoption(f"access log: {exc}", ok=False)
    last = session.execute(select(AccessLogEntry.id, AccessLogEntry.entry_hash).order_by(AccessLogEntry.id.desc()).limit(1)).first()
    if last is None:
        return Adoption("access log: empty")
    first = session.scalar(select(AccessLogEntry).order_by(AccessLogEntry.id).limit(1))
    if first.prev_hash == GENESIS and chain.digest(GENESIS, first) == first.entry_hash:
        result = verify(session, anchor=Anchor(last.id, last.entry_hash), chain=chain)
        if not result.ok:
            return Adoption(f"access log: NOT anchored, tampered at entry {result.first_bad_id}: {result.reason}", ok=False)
        return Adoption(f"access log: {result.checked} entries anchored (the anchor file was missing)", Anchor(last.id, last.entry_hash))
    return _rechain(session, chain)


def _rechain(session: Session, chain: AuditChain) -> Adoption:
    prev_legacy, new_hashes, checked = GENESIS, [], 0
    prev_keyed = GENESIS
    for entry in each_entry(session):
        if entry.prev_hash != prev_legacy or legacy_digest(prev_legacy, entry) != entry.entry_hash:
            return Adoption(f"access log: NOT re-chained under the audit key, the old chain is broken at entry {entry.id}", ok=False)
        keyed = chain.digest(prev_keyed, entry)
        new_hashes.append((entry.id, prev_keyed, keyed))
        prev_legacy, prev_keyed = entry.entry_hash, keyed
        checked += 1
    session.expunge_all()  # the rows are rewritten below with SQL, not through stale objects
    with _triggers_lifted(session):
        for entry_id, prev_hash, entry_hash in new_hashes:
            session.execute(update(AccessLogEntry).where(AccessLogEntry.id == entry_id).values(prev_hash=prev_hash, entry_hash=entry_hash))
    last_id, _, last_hash = new_hashes[-1]
    return Adoption(f"access log: {checked} entries re-chained under the audit key", Anchor(last_id, last_hash))


class _triggers_lifted:
    """The append-only triggers off for the rest of this transaction (DDL is transactional on both engines)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.sqlite = session.get_bind().dialect.name == "sqlite"

    def __enter__(self) -> None:
        if self.sqlite:
            for event in ("update", "delete"):
                self.session.execute(text(f"DROP TRIGGER IF EXISTS audit_access_log_no_{event}"))
        else:
            self.session.execute(text("ALTER TABLE audit_access_log DISABLE TRIGGER audit_access_log_append_only"))

    def __exit__(self, *exc) -> None:
        if exc[0] is not None:
            return  # the transaction is rolled back, triggers and all
        if self.sqlite:
            for event in ("UPDATE", "DELETE"):
                self.session.execute(text(
                    f"CREATE TRIGGER audit_access_log_no_{event.lower()} BEFORE {event} ON audit_access_log "
                    "BEGIN SELECT RAISE(ABORT, 'audit_access_log is append-only'); END"))
        else:
            self.session.execute(text("ALTER TABLE audit_access_log ENABLE TRIGGER audit_access_log_append_only"))
