"""The process-wide objects of one application: database, the four backends, cipher, indexer.

Built once by ``create_app`` and kept in ``app.extensions["elibrary"]``; nothing here imports Flask,
so CLI commands, jobs and benchmarks use the same wiring.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from elibrary import ils, notify, search, storage
from elibrary.catalog.indexing import AFTER_COMMIT_TASK as SEARCH_TASK
from elibrary.catalog.indexing import SearchIndexer, watch_changes
from elibrary.db import Database
from elibrary.ils.base import ILSConnector
from elibrary.notify.base import Notifier
from elibrary.notify.outbox import AFTER_COMMIT_TASK as NOTIFY_TASK
from elibrary.notify.outbox import deliver_pending
from elibrary.registry import load_backend
from elibrary.search.base import SearchBackend
from elibrary.security.crypto import DataCipher
from elibrary.security.keys import cipher_from_settings
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
            notifier=load_backend("notifier", notify.BACKENDS, settings["ELIBRARY_NOTIFIER"], settings),
            cipher=cipher,
            indexer=SearchIndexer(lambda: db.session(write=True), search_backend, synchronous=bool(settings["ELIBRARY_SEARCH_SYNC"]),
                                  poll_seconds=float(settings.get("ELIBRARY_SEARCH_POLL_SECONDS") or 2.0)),
        )
        runtime.ils = load_backend("ILS", ils.BACKENDS, settings["ELIBRARY_ILS"], {**settings, "runtime": runtime})
        watch_changes(db.factory)
        db.after_commit.register(SEARCH_TASK, runtime.indexer.kick)
        db.after_commit.register(NOTIFY_TASK, runtime.deliver_notifications)
        return runtime

    def deliver_notifications(self) -> int:
        """Send committed outbox messages (after commit, and from the scheduled jobs)."""
        with self.db.scope() as session:
            return deliver_pending(session, self.cipher, self.notifier)
