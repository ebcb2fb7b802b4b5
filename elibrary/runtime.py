"""The process-wide objects of one application: database, backends, cipher, indexer, jobs and scheduler.

Built by ``elibrary.wiring.build_runtime`` (the one wiring room) and kept in ``app.extensions["elibrary"]``
by ``create_app``; nothing here imports Flask, so CLI commands, jobs, benchmarks and helper processes get
the same house from the same function.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from elibrary.jobs import JobRegistry, Scheduler
from elibrary.notify.outbox import deliver_pending

if TYPE_CHECKING:  # the wings import the runtime (for its type); it imports none of them back
    from elibrary.audit.chain import AuditChain
    from elibrary.catalog.indexing import SearchIndexer
    from elibrary.catalog.text_indexing import TextIndexer
    from elibrary.db import Database
    from elibrary.ils.base import ILSConnector
    from elibrary.line.client import LineClient
    from elibrary.maintenance.flag import FlagReader
    from elibrary.monitoring.metrics import GaugeRegistry
    from elibrary.notify.base import Notifier
    from elibrary.opds.caches import OpdsCaches
    from elibrary.patrons.accounts import LocalAccounts
    from elibrary.schools.oidc import OidcClient
    from elibrary.search.base import SearchBackend
    from elibrary.search.booktext import BookTextIndex
    from elibrary.security.crypto import DataCipher
    from elibrary.security.rate import RateLimit
    from elibrary.security.throttle import Throttle
    from elibrary.storage.base import BookStorage
    from elibrary.usage.counters import UsageCounters


@dataclass
class Runtime:
    """Everything a service call may need besides its session."""

    settings: Mapping[str, Any]
    db: Database
    search: SearchBackend
    storage: BookStorage
    ils: ILSConnector  # the configured connector (``accounts`` itself when ELIBRARY_ILS is "local")
    accounts: LocalAccounts  # the patrons' own account store, in front of ``ils`` at sign-in
    notifier: Notifier
    cipher: DataCipher
    indexer: SearchIndexer
    opds: OpdsCaches  # the OPDS feeds' per-process caches
    jobs: JobRegistry
    audit: AuditChain  # the keyed hash chain of the staff access log and its anchor outside the database
    throttle: Throttle  # sign-in brute-force counters; writes in transactions of its own
    maintenance: FlagReader | None = None  # the planned-stop flag in the shared storage folder (no database)
    usage: UsageCounters | None = None  # title views, visits and searches counted in memory, flushed at intervals
    line: LineClient | None = None  # LINE Login verification and Messaging API pushes; None when LINE is off
    gauges: GaugeRegistry | None = None  # the scrape-time gauges of /metrics (declared in the wiring room)
    school_oidc: OidcClient | None = None  # school sign-in's OpenID Connect client (discovery and keys cached)
    booktext: BookTextIndex | None = None  # the book-text index (本文検索) of this server
    text_indexer: TextIndexer | None = None  # keeps ``booktext`` following the change log
    text_limit: RateLimit | None = None  # text searches with snippets per patron or client, counted in the database
    scheduler_tick: int = 0  # seconds between the in-process scheduler's looks; 0: no scheduler thread
    scheduler: Scheduler = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.scheduler = Scheduler(self, self.scheduler_tick)

    def stop_following(self) -> None:
        """Stop this process's index followers (the catalog's and the book text's), e.g. before the database goes."""
        self.indexer.stop()
        if self.text_indexer is not None:
            self.text_indexer.stop()

    def deliver_notifications(self) -> int:
        """Send committed outbox messages (after commit, and from the scheduled jobs); no transaction is open while they go."""
        return deliver_pending(self.db, self.cipher, self.notifier)
