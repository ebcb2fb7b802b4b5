"""The access log's keyed hash chain and its anchor outside the database.

Each entry's ``entry_hash`` is HMAC-SHA256, under the audit key, of its content and the previous entry's
hash. The key lives in the instance folder (``audit_key``, mode 0600, like ``data_key``; or
``ELIBRARY_AUDIT_KEY``), never in the database, so someone who can write the database (or drop its
triggers) cannot recompute the chain after editing a row.

Deleting the *newest* entries leaves a shorter chain that is still consistent, so the newest entry's id
and hash are also written outside the database after every commit that adds one: the anchor file
(``ELIBRARY_AUDIT_ANCHOR``, default ``instance/audit_anchor``) and each backup's manifest.
``elibrary audit verify`` requires the anchored entry to be present and unchanged. The anchor only moves
forward (several workers, one lock file); each app server's anchor is a lower bound of the chain.

Installations from before the key existed: ``elibrary init`` checks the old unkeyed chain and, only if
it is intact and no anchor exists yet, re-computes every link under the key and writes the anchor
(``adopt``); once an anchor exists nothing is ever re-chained again.
"""
from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
INFO_KEY = "audit_chain"  # where each session finds the chain (``sessionmaker.configure(info=...)``)
AFTER_COMMIT_TASK = "audit-anchor"


class AuditKeyMissing(RuntimeError):
    """A session was made without the audit chain (the runtime wires it into every session)."""


@dataclass(frozen=True)
class Anchor:
    """The newest entry known outside the database."""

    entry_id: int
    entry_hash: str

    def as_dict(self) -> dict[str, Any]:
        """The form kept in the anchor file and the backup manifest."""
        return {"id": self.entry_id, "hash": self.entry_hash}

    @classmethod
    def from_dict(cls, data: Any) -> "Anchor | None":
        """The inverse of ``as_dict``; ``None`` for anything malformed."""
        if isinstance(data, dict) and isinstance(data.get("id"), int) and isinstance(data.get("hash"), str) and len(data["hash"]) == 64:
            return cls(data["id"], data["hash"])
        return None


def content(prev_hash: str, entry) -> bytes:
    """The bytes an entry's hash covers: its fields and the previous hash, canonical JSON."""
    fields = {
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
    return json.dumps(fields, sort_keys=True, ensure_ascii=False).encode("utf-8")


def legacy_digest(prev_hash: str, entry) -> str:
    """The unkeyed SHA-256 of installations before the audit key (checked once, by ``adopt``)."""
    return hashlib.sha256(content(prev_hash, entry)).hexdigest()


@dataclass(frozen=True)
class AuditChain:
    """The audit key and the anchor file."""

    key: bytes
    anchor_path: Path | None = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "AuditChain":
        """The chain of ``ELIBRARY_AUDIT_KEY`` and ``ELIBRARY_AUDIT_ANCHOR``."""
        key = settings.get("ELIBRARY_AUDIT_KEY")
        if not key:
            raise AuditKeyMissing("ELIBRARY_AUDIT_KEY is not set")
        anchor = settings.get("ELIBRARY_AUDIT_ANCHOR")
        return cls(str(key).encode("utf-8"), Path(anchor) if anchor else None)

    def digest(self, prev_hash: str, entry) -> str:
        """HMAC-SHA256 of the entry's content under the audit key."""
        return hmac.new(self.key, content(prev_hash, entry), hashlib.sha256).hexdigest()

    def read_anchor(self) -> Anchor | None:
        """The anchored entry, or ``None`` when there is no anchor file."""
        if self.anchor_path is None or not self.anchor_path.exists():
            return None
        try:
            data = json.loads(self.anchor_path.read_text())
        except ValueError:
            raise ValueError(f"the audit anchor {self.anchor_path} is damaged") from None
        anchor = Anchor.from_dict(data)
        if anchor is None:
            raise ValueError(f"the audit anchor {self.anchor_path} is damaged")
        return anchor

    def write_anchor(self, anchor: Anchor, *, force: bool = False) -> bool:
        """Record ``anchor`` unless a newer one is there (``force``: a restore, which may go back in time)."""
        if self.anchor_path is None:
            return False
        path = self.anchor_path
        path.parent.mkdir(parents=True, exist_ok=True)
        lock_fd = os.open(path.with_name(path.name + ".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            if not force:
                try:
                    current = self.read_anchor()
                except ValueError:
                    current = None
                if current is not None and current.entry_id >= anchor.entry_id:
                    return False
            partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump(anchor.as_dict(), out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, path)
            return True
        finally:
            fcntl.flock(lock_fd, fcntl.LOCK_UN)
            os.close(lock_fd)

    def set_aside_anchor(self, suffix: str) -> None:
        """Move the anchor file away (a restore of a backup that carries none): never deleted."""
        if self.anchor_path is not None and self.anchor_path.exists():
            os.replace(self.anchor_path, self.anchor_path.with_name(f"{self.anchor_path.name}.{suffix}"))


def chain_of(session) -> AuditChain:
    """The chain the runtime put into ``session.info``."""
    chain = session.info.get(INFO_KEY)
    if chain is None:
        raise AuditKeyMissing("this session has no audit chain: make sessions with the runtime's Database")
    return chain
