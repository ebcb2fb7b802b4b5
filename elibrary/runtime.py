"""The process-wide objects of one application: database, the four backends, cipher, indexer.

Built once by ``create_app`` and kept in ``app.extensions["elibrary"]``; nothing here imports Flask,
so CLI commands, jobs and benchmarks use the same wiring.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from elibrary import ils, notify, search, storage
from elibrary.audit.chain import AFTER_COMMIT_TASK as AUDIT_TASK
from elibrary.audit.chain import INFO_KEY as AUDIT_INFO
from elibrary.audit.chain import AuditChain
from elibrary.catalog.indexing import AFTER_COMMIT_TASK as SEARCH_TASK
from elibrary.catalog.indexing import SearchIndexer, watch_changes
from elibrary.db import Database
from elibrary.ils.base import ILSConnector
from elibrary.line.client import LineClient, line_client_from_settings
from elibrary.notify.base import Notifier
from elibrary.notify.outbox import AFTER_COMMIT_TASK as NOTIFY_TASK
from elibrary.notify.outbox import deliver_pending
from elibrary.registry import load_backend
from elibrary.search.base import SearchBackend
from elibrary.security.crypto import DataCipher
from elibrary.security.keys import cipher_from_settings
from elibrary.security.throttle import Throttle, ThrottlePolicy
from elibrary.storage.base import BookStorage


@dataclass
class Runtime:
    """Everything a service call may need besides its session."""

    settings: Mapping[str, Any]
    db: Database
    search: SearchBackend
    storage: BookStorage
    ils: ILSConnector
    notifier: Notifier
    cipher: DataCipher
    indexer: SearchIndexer
    audit: AuditChain
    throttle: Throttle  # sign-in brute-force counters; writes in transactions of its own
    line: LineClient | None = None  # LINE Login verification and Messaging API pushes; None when LINE is off

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "Runtime":
        """Build the database and backends named by the settings."""
        db = Database(settings["ELIBRARY_DATABASE_URL"])
        cipher = cipher_from_settings(settings)  # the key ring: current, earlier and lookup keys
        search_backend = load_backend("search", search.BACKENDS, settings["ELIBRARY_SEARCH"], settings)
        runtime = cls(
            settings=settings,
            db=db,
            search=search_backend,
            storage=load_backend("storage", storage.BACKENDS, settings["ELIBRARY_STORAGE"], settings),
            ils=None,  # type: ignore[arg-type]  # set below: connectors may need the runtime's db and cipher
            notifier=None,  # type: ignore[arg-type]  # set below: the LINE notifier needs the runtime's LINE client
            cipher=cipher,
            indexer=SearchIndexer(lambda: db.session(write=True), search_backend, synchronous=bool(settings["ELIBRARY_SEARCH_SYNC"])),
            audit=AuditChain.from_settings(settings),
            throttle=Throttle(db, ThrottlePolicy.from_settings(settings)),
            line=line_client_from_settings(settings),
        )
        db.factory.configure(info={AUDIT_INFO: runtime.audit})  # every session can append to the keyed access log
        runtime.ils = load_backend("ILS", ils.BACKENDS, settings["ELIBRARY_ILS"], {**settings, "runtime": runtime})
        runtime.notifier = load_backend("notifier", notify.BACKENDS, settings["ELIBRARY_NOTIFIER"], {**settings, "runtime": runtime})
        watch_changes(db.factory)
        db.after_commit.register(SEARCH_TASK, runtime.indexer.kick)
        db.after_commit.register(NOTIFY_TASK, runtime.deliver_notifications)
        db.after_commit.register(AUDIT_TASK, runtime.anchor_audit_log)
        return runtime

    def anchor_audit_log(self) -> None:
        """Move the access log's anchor file to its newest committed entry (after commits that added one)."""
        from elibrary.audit.services import anchor_latest

        anchor_latest(self.db, self.audit)

    def deliver_notifications(self) -> int:
        """Send committed outbox messages (after commit, and from the scheduled jobs)."""
        with self.db.scope() as session:
            sent = deliver_pending(session, self.cipher, self.notifier)
            after_delivery = getattr(self.notifier, "after_delivery", None)  # the LINE notifier: blocks, quota fallback
            if after_delivery is not None:
                after_delivery(session, self.cipher)
            return sent
