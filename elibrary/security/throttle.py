"""Brute-force protection for sign-in, shared by every worker through the database.

Failures are counted per key: the keyed hash of the card number (or staff e-mail) typed, and of the
client address. After ``slow_after`` failures a key must wait before its next attempt (doubling each
time, up to ``max_delay``); after ``lock_after`` failures it is locked for ``lock_minutes``. Unknown
cards are counted like known ones, so the answer never tells which of card or PIN was wrong.

Failures must survive the rollback of the failed request, so they are written in a short transaction
of their own (unless the caller's SQLite transaction already holds the write lock, in which case they
go in the caller's session and the caller commits; see ``record_failure``).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from elibrary.db import Base, Database, UTCDateTime, utcnow
from elibrary.errors import DomainError


class TooManyAttempts(DomainError):
    """Sign-in refused for a while after repeated failures; same text whatever was wrong."""

    code = "too-many-attempts"
    status = 429
    message_ja = "ログインの失敗が続いたため、しばらく受け付けられません。時間をおいてからお試しください。"
    message_en = "Too many failed sign-in attempts. Please wait a while and try again."


class SignInThrottle(Base):
    """Failure counter of one key (``card:<hmac>``, ``addr:<hmac>``, ``staff:<hmac>``)."""

    __tablename__ = "signin_throttles"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class ThrottlePolicy:
    """Thresholds; per-address limits are higher because a school shares one address."""

    slow_after: int = 3
    lock_after: int = 10
    address_slow_after: int = 20
    address_lock_after: int = 100
    lock_minutes: int = 15
    max_delay_seconds: int = 30
    forget_after_minutes: int = 60  # a quiet hour wipes the count

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "ThrottlePolicy":
        """``ELIBRARY_SIGNIN_*`` settings, falling back to the defaults above."""
        names = {
            "slow_after": "ELIBRARY_SIGNIN_SLOW_AFTER",
            "lock_after": "ELIBRARY_SIGNIN_LOCK_AFTER",
            "address_slow_after": "ELIBRARY_SIGNIN_ADDRESS_SLOW_AFTER",
            "address_lock_after": "ELIBRARY_SIGNIN_ADDRESS_LOCK_AFTER",
            "lock_minutes": "ELIBRARY_SIGNIN_LOCK_MINUTES",
        }
        return cls(**{field: int(settings[name]) for field, name in names.items() if settings.get(name) is not None})

    def limits(self, key: str) -> tuple[int, int]:
        """(slow_after, lock_after) for this kind of key."""
        if key.startswith("addr:"):
            return self.address_slow_after, self.address_lock_after
        return self.slow_after, self.lock_after


class Throttle:
    """Checks and counts sign-in failures in the database of ``db``."""

    def __init__(self, db: Database, policy: ThrottlePolicy | None = None) -> None:
        self.db = db
        self.policy = policy or ThrottlePolicy()

    def check(self, keys: Iterable[str], now: datetime | None = None) -> None:
        """Raise ``TooManyAttempts`` if any key is locked or must still wait."""
        now = now or utcnow()
        keys = list(keys)
        with self.db.scope(write=False) as session:
            rows = session.scalars(select(SignInThrottle).where(SignInThrottle.key.in_(keys))).all()
            for row in rows:
                if self._refused(row, now):
                    raise TooManyAttempts()

    def _refused(self, row: SignInThrottle, now: datetime) -> bool:
        if row.locked_until and row.locked_until > now:
            return True
        if row.last_failure_at is None or now - row.last_failure_at > timedelta(minutes=self.policy.forget_after_minutes):
            return False
        slow_after, _ = self.policy.limits(row.key)
        if row.failures < slow_after:
            return False
        delay = min(2 ** (row.failures - slow_after), self.policy.max_delay_seconds)
        return now - row.last_failure_at < timedelta(seconds=delay)

    def record_failure(self, keys: Iterable[str], caller: Session | None = None, now: datetime | None = None) -> None:
        """Count one failure for each key (in a transaction of its own; see the module docstring)."""
        now = now or utcnow()
        if caller is not None and self.db.is_sqlite and caller.in_transaction():
            self._count(caller, keys, now)
            return
        with self.db.scope() as session:
            self._count(session, keys, now)

    def _count(self, session: Session, keys: Iterable[str], now: datetime) -> None:
        for key in keys:
            row = session.scalar(select(SignInThrottle).where(SignInThrottle.key == key).with_for_update())
            if row is None:
                try:
                    with session.begin_nested():
                        session.add(SignInThrottle(key=key, failures=0))
                except IntegrityError:  # another worker inserted it first
                    pass
                row = session.scalar(select(SignInThrottle).where(SignInThrottle.key == key).with_for_update())
            # The row is locked (FOR UPDATE on PostgreSQL, the write lock on SQLite): plain arithmetic is safe.
            forgotten = row.last_failure_at is None or now - row.last_failure_at > timedelta(minutes=self.policy.forget_after_minutes)
            row.failures = (0 if forgotten else row.failures) + 1
            row.last_failure_at = now
            _, lock_after = self.policy.limits(key)
            if row.failures >= lock_after:
                row.locked_until = now + timedelta(minutes=self.policy.lock_minutes)
                row.failures = 0
        session.flush()

    def record_success(self, session: Session, keys: Iterable[str]) -> None:
        """Forget the failures of the card (not of the address) in the caller's transaction."""
        keys = [k for k in keys if not k.startswith("addr:")]
        if keys:
            session.execute(update(SignInThrottle).where(SignInThrottle.key.in_(keys)).values(failures=0, locked_until=None))


def throttle_of(runtime) -> Throttle:
    """The runtime's throttle, built on first use from its settings."""
    cached = getattr(runtime, "_signin_throttle", None)
    if cached is None:
        cached = Throttle(runtime.db, ThrottlePolicy.from_settings(runtime.settings))
        runtime._signin_throttle = cached
    return cached


def keys_for(cipher, subject_kind: str, subject: str, address: str | None) -> list[str]:
    """The throttle keys of one attempt: the hashed card/e-mail typed and the hashed client address."""
    keys = [f"{subject_kind}:{cipher.lookup_hash(subject_kind + ':' + subject)[:64]}"]
    if address:
        keys.append(f"addr:{cipher.lookup_hash('addr:' + address)[:64]}")
    return keys
