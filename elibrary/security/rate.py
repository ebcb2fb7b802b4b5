"""A rate limit shared by every worker and server through the database: N uses per window per key.

Used for 本文検索's snippets (``catalog.text_search``), so nobody can harvest a book through them: with
the counters in the database, W gunicorn workers or several servers still give a client one budget,
not W.

Keys are stored as keyed hashes (``DataCipher.lookup_hash``; never a patron id, a session marker or an
address in clear) and a row holds only two counts, so the table says nothing of who searched for what.

Each key has one row counting its uses in the current fixed window (windows are aligned on the epoch, so
every worker agrees on them) and in the one before. A use is allowed while the *sliding* estimate —
the previous window's uses, weighted by how much of it still lies within the last ``window`` seconds,
plus the current window's uses — is under the limit (the "sliding window counter"). Over time a key gets
at most ``limit`` uses per window; a burst straddling a window boundary gets at most twice that.

Counters are written in a transaction of their own, with the rows locked (FOR UPDATE on PostgreSQL,
SQLite's write lock), so two workers never both take the last use. On SQLite, when the caller's session
holds the write lock, a second writer would wait for it forever: the decision is then made from a read,
and the use is counted right after the caller's transaction ends (as ``security.throttle`` does).
Rows idle for two windows are deleted now and then by whichever worker passes by.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy import Integer, String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from elibrary.db import Base, Database, after_transaction, utcnow

log = logging.getLogger(__name__)


class RateCounter(Base):
    """The uses of one key (``<name>:`` + a keyed hash) in window ``window_number`` and the one before."""

    __tablename__ = "rate_counters"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    window_number: Mapped[int] = mapped_column(Integer, index=True)  # epoch seconds // window
    uses: Mapped[int] = mapped_column(Integer, default=0)
    previous_uses: Mapped[int] = mapped_column(Integer, default=0)


class RateLimit:
    """``limit`` uses per ``window`` seconds per key, counted in ``db`` (a declared part of the ``Runtime``)."""

    def __init__(self, db: Database, limit: int, window: float, digest: Callable[[str], str], name: str = "rate") -> None:
        self.db = db
        self.limit = limit
        self.window = int(window)
        self.name = name
        self._digest = digest  # a keyed hash shared by every worker (the data cipher's lookup hash)
        self._purged_at = 0.0

    def allow(self, key: str, now: datetime | None = None, *, limit: int | None = None, caller: Session | None = None) -> bool:
        """Count one use of ``key``; False (and not counted) when its window already holds ``limit`` uses."""
        return self.allow_all({key: self.limit if limit is None else limit}, now, caller=caller)

    def allow_all(self, budgets: Mapping[str, int], now: datetime | None = None, *, caller: Session | None = None) -> bool:
        """Count one use of every key if each is under its own limit (key → limit); otherwise count none."""
        now = now or utcnow()
        stored = {self._stored_key(key): limit for key, limit in budgets.items()}
        if caller is not None and self.db.is_sqlite and caller.in_transaction() and caller.get_bind() is self.db.write_engine:
            with self.db.scope(write=False) as session:  # the caller holds the write lock: decide from a read
                rows = self._rows(session, list(stored))
                allowed = self._decide(rows, stored, now, count=False)
            if allowed:
                after_transaction(caller, lambda: self._count(stored, now), what="rate limit: counting a use")
            return allowed
        return self._count(stored, now)

    def _count(self, stored: Mapping[str, int], now: datetime) -> bool:
        with self.db.scope() as session:
            allowed = self._decide(self._locked_rows(session, list(stored)), stored, now, count=True)
            self._purge(session, now)
        return allowed

    def _decide(self, rows: Mapping[str, RateCounter | None], stored: Mapping[str, int], now: datetime, *, count: bool) -> bool:
        seconds = now.timestamp()
        number = int(seconds // self.window)
        still_in = 1 - (seconds % self.window) / self.window  # the share of the previous window within the last ``window`` seconds
        current = {}
        for key, row in rows.items():
            uses, previous = 0, 0
            if row is not None and row.window_number == number:
                uses, previous = row.uses or 0, row.previous_uses or 0
            elif row is not None and row.window_number == number - 1:
                previous = row.uses or 0
            current[key] = (uses, previous)
            if previous * still_in + uses >= stored[key]:
                return False
        if count:
            for key, row in rows.items():
                uses, previous = current[key]
                row.window_number, row.uses, row.previous_uses = number, uses + 1, previous
        return True

    def _stored_key(self, key: str) -> str:
        return f"{self.name}:{self._digest(f'{self.name}:{key}')[:64]}"

    @staticmethod
    def _rows(session: Session, keys: list[str]) -> dict[str, RateCounter | None]:
        found = {row.key: row for row in session.scalars(select(RateCounter).where(RateCounter.key.in_(keys)))}
        return {key: found.get(key) for key in keys}

    @staticmethod
    def _locked_rows(session: Session, keys: list[str]) -> dict[str, RateCounter]:
        rows = {}
        for key in sorted(keys):  # one order everywhere: two workers never lock each other's second row first
            row = session.scalar(select(RateCounter).where(RateCounter.key == key).with_for_update())
            if row is None:
                try:
                    with session.begin_nested():
                        session.add(RateCounter(key=key, window_number=0, uses=0, previous_uses=0))
                except IntegrityError:  # another worker inserted it first
                    pass
                row = session.scalar(select(RateCounter).where(RateCounter.key == key).with_for_update())
            rows[key] = row
        return rows

    def _purge(self, session: Session, now: datetime) -> None:
        """Delete counters idle for two windows, at most once per window from this process."""
        if time.monotonic() - self._purged_at < self.window and self._purged_at:
            return
        self._purged_at = time.monotonic()
        number = int(now.timestamp() // self.window)
        session.execute(delete(RateCounter).where(RateCounter.key.like(f"{self.name}:%"), RateCounter.window_number < number - 1))

    @classmethod
    def parse(cls, value: str, db: Database, digest: Callable[[str], str], name: str = "rate") -> "RateLimit":
        """From a setting like ``"30/600"`` (30 uses per 600 seconds)."""
        count, _, seconds = str(value).partition("/")
        return cls(db, int(count), float(seconds or 600), digest, name)
