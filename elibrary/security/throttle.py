"""Brute-force protection for sign-in, shared by every worker through the database.

Each attempt has up to four counters, found by keyed hashes (never the card number or address):

- **pair** — this card from this client address. ``pair_limit`` failures, then the pair waits.
- **card** — this card from addresses where it never signed in (within ``known_days``): the slower,
  global limit. An attack on a card from anywhere spends this budget, but the card's owner, signing in
  from an address where the card signed in before (a *known pair*), is not held by it.
- **address** — any cards from this address (``address_limit``; ``school_address_limit`` for the
  ``ELIBRARY_SCHOOL_NETWORKS``, where forty pupils share one NAT address at 9:00).
- **ils** — only when ``ils_lock_after`` is set: failures the ILS has seen for the card inside its own
  counting window. We forward at most ``ils_lock_after - 1`` of them, keeping ``owner_reserve`` of those
  for known pairs, so our failures never lock a patron's paper-library card at the ILS (SIP2).

When a counter reaches its limit the key is locked for a while (15 minutes for a pair and an address,
an hour for a card), and the counter stays one below the limit: each further failure after the lock
locks it again for twice as long, up to ``max_lock_minutes`` (a day). A success clears the pair, card
and ils counters; address counters only fade (``address_forget_minutes`` without a failure). Card and
pair counters fade after ``forget_days`` without a failure. Unknown cards count like known ones, so the
answer never tells which of card or PIN was wrong.

**A 4-digit PIN stays unguessable for a year** (``max_guesses_per_year``). There are 10,000 PINs.
With the defaults, an attacker from fresh addresses gets only the card budget: 5 failures, then locks
of 1, 2, 4, 8 and 16 hours (5 more tries), then one try a day (≈ 375 a year); or, waiting out the
7 quiet days each time, 10 tries per 7 days + 31 hours: 45 cycles, at most 450 tries a year. From the
owner's own known address (a shared school or family NAT) the pair budget adds at most 528 (5 + 7 lock
steps from 15 minutes, then the 7 quiet days: 44 cycles of 12). Together at most 978 guesses a year:
under a 10 % chance of finding a 4-digit PIN by trying for a whole year from every address there is,
and under 4.5 % without the owner's address. ``tests/security/test_throttle_policy.py`` checks the sum
and runs both attacks against the rules.

Refusals are ``TooManyAttempts`` (429) carrying ``Retry-After``; nothing here ever sleeps, so a worker
is never tied up by an attacker. Counters are written in a transaction of their own (never the
caller's, so a request that rolls back keeps its failure); on SQLite, while the caller holds the write
lock, the write waits for the caller's transaction to end and then runs on its own.
"""
from __future__ import annotations

import ipaddress
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from elibrary.db import Base, Database, UTCDateTime, after_transaction, utcnow
from elibrary.errors import DomainError
from elibrary.security import events

log = logging.getLogger(__name__)

SUCCESS_EVENT_GAP = timedelta(minutes=10)


class TooManyAttempts(DomainError):
    """Sign-in refused for a while after repeated failures; same text whatever was wrong."""

    code = "too-many-attempts"
    status = 429
    message_ja = "ログインの失敗が続いたため、しばらく受け付けられません。時間をおいてからお試しください。"
    message_en = "Too many failed sign-in attempts. Please wait a while and try again."

    def __init__(self, retry_after: int = 60) -> None:
        super().__init__()
        self.retry_after = max(1, int(retry_after))

    def headers(self) -> dict[str, str]:
        """``Retry-After`` in seconds."""
        return {"Retry-After": str(self.retry_after)}


class SignInThrottle(Base):
    """Failure counter of one key (``pair:``, ``card:``, ``addr:``, ``ils:`` + a keyed hash)."""

    __tablename__ = "signin_throttles"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # consecutive locks: each doubles
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # pairs: the card signed in from here


# The columns ``Rules.refusal`` and ``Rules.known`` read, and the rows of one attempt; built once
# (``Throttle.check`` runs per OPDS request). An attempt has at most four counters, so they are four plain
# parameters (``counter_params``; an absent one is NULL, which matches no key): an expanding IN list would
# be compiled again on every request. A caller may read them joined to its own rows (``opds.auth``).
_COUNTER_KEYS = ("pair", "card", "address", "ils")
COUNTER_COLUMNS = (SignInThrottle.key, SignInThrottle.failures, SignInThrottle.last_failure_at, SignInThrottle.locked_until,
                   SignInThrottle.succeeded_at)
ATTEMPT_COUNTERS = SignInThrottle.key.in_([bindparam(name, type_=String) for name in _COUNTER_KEYS])
_COUNTERS = select(*COUNTER_COLUMNS).where(ATTEMPT_COUNTERS)
_CounterRow = Any  # a Row with ``COUNTER_COLUMNS``


@dataclass(frozen=True)
class AttemptKeys:
    """The counters of one attempt (see the module docstring)."""

    pair: str
    card: str
    address: str | None = None
    ils: str | None = None
    school: bool = False
    kind: str = ""  # "card" (patrons) or "staff": the security events' actor (elibrary.security.events)
    subject_ref: str | None = None  # the events' pseudonym of the card or e-mail typed
    client: str | None = None  # the client address, for the events

    def all(self) -> list[str]:
        """Every key, for loading the rows."""
        return [k for k in (self.pair, self.card, self.address, self.ils) if k]

    def counter_params(self) -> dict[str, str | None]:
        """The parameters of ``ATTEMPT_COUNTERS``."""
        return {name: getattr(self, name) for name in _COUNTER_KEYS}


@dataclass(frozen=True)
class ThrottlePolicy:
    """Limits; ``from_settings`` reads the ``ELIBRARY_SIGNIN_*`` and ILS settings."""

    pair_limit: int = 5
    card_limit: int = 5
    address_limit: int = 30
    school_address_limit: int = 300
    school_networks: tuple = field(default=())
    ils_lock_after: int = 0
    ils_lock_minutes: int = 30
    owner_reserve: int = 3
    pair_lock_minutes: int = 15
    card_lock_minutes: int = 60
    address_lock_minutes: int = 15
    max_lock_minutes: int = 24 * 60
    forget_days: int = 7
    address_forget_minutes: int = 60
    known_days: int = 365

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "ThrottlePolicy":
        """The policy of an application's settings (defaults for what is unset)."""
        names = {
            "pair_limit": "ELIBRARY_SIGNIN_PAIR_LIMIT",
            "card_limit": "ELIBRARY_SIGNIN_CARD_LIMIT",
            "address_limit": "ELIBRARY_SIGNIN_ADDRESS_LIMIT",
            "school_address_limit": "ELIBRARY_SIGNIN_SCHOOL_ADDRESS_LIMIT",
            "ils_lock_after": "ELIBRARY_ILS_LOCK_AFTER",
            "ils_lock_minutes": "ELIBRARY_ILS_LOCK_MINUTES",
        }
        values: dict[str, Any] = {f: int(settings[n]) for f, n in names.items() if settings.get(n) is not None}
        values["school_networks"] = parse_networks(settings.get("ELIBRARY_SCHOOL_NETWORKS"))
        return cls(**values)

    def ils_budgets(self) -> tuple[int, int]:
        """(failures forwarded for unknown pairs, for known pairs) inside the ILS's window; both < its lock count."""
        allowed = self.ils_lock_after - 1
        reserve = min(self.owner_reserve, allowed // 2)
        return allowed - reserve, allowed

    def is_school(self, address: str | None) -> bool:
        """Whether ``address`` is in a configured school network."""
        return address_in(address, self.school_networks)


def address_in(address: str | None, networks: tuple) -> bool:
    """Whether ``address`` (IPv4, IPv6, or IPv4 mapped into IPv6) lies in one of ``networks``; a bad address is in none."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


def parse_networks(value: Any, setting: str = "ELIBRARY_SCHOOL_NETWORKS") -> tuple:
    """``"203.0.113.0/28, 2001:db8::/48"`` (or a list) as networks; a bad entry is a configuration error."""
    from elibrary.config import ConfigError

    items = value.replace(",", " ").split() if isinstance(value, str) else list(value or ())
    try:
        return tuple(ipaddress.ip_network(item, strict=False) for item in items)
    except ValueError as exc:
        raise ConfigError(f"{setting}: {exc}") from None


def max_guesses_per_year(policy: ThrottlePolicy, *, known_address: bool = True) -> int:
    """An upper bound of the failures one card can take in a year, over the attacker's two best strategies.

    For a budget ``limit`` with locks doubling from ``first`` up to ``cap`` and forgotten after
    ``forget`` quiet: either keep trying (``limit`` + ramp + one per ``cap``), or after ``k`` ramp steps
    wait out ``forget`` and start again (``limit + k`` per cycle). The card budget covers fresh addresses;
    with ``known_address`` the pair budget of the owner's own address is added.
    """
    year = 365 * 24 * 60

    def budget(limit: int, first: int, forget: int) -> int:
        best = 0
        for k in range(0, 40):
            ramp = sum(min(first * 2**i, policy.max_lock_minutes) for i in range(k))
            cycles = year // (ramp + forget) + 1  # cycles started within the year, the last one perhaps cut short
            best = max(best, cycles * (limit + k))
        steps, ramp = 0, 0
        while ramp < year:
            ramp += min(first * 2**steps, policy.max_lock_minutes)
            steps += 1
        return max(best, limit + steps)

    forget = policy.forget_days * 24 * 60
    total = budget(policy.card_limit, policy.card_lock_minutes, forget)
    if known_address:
        total += budget(policy.pair_limit, policy.pair_lock_minutes, forget)
    return total


class Rules:
    """The decisions, on rows of any storage (database rows, or plain objects in a simulation)."""

    def __init__(self, policy: ThrottlePolicy) -> None:
        self.policy = policy

    def known(self, pair_row, now: datetime) -> bool:
        """The card signed in from this address within ``known_days``."""
        return bool(pair_row and pair_row.succeeded_at and now - pair_row.succeeded_at < timedelta(days=self.policy.known_days))

    def refusal(self, keys: AttemptKeys, rows: Mapping[str, Any], now: datetime) -> datetime | None:
        """When the attempt may be made, if not now; None if it may be made now."""
        p = self.policy
        known = self.known(rows.get(keys.pair), now)
        waits = []
        for key in (keys.pair, keys.address, None if known else keys.card):
            row = rows.get(key) if key else None
            if row is not None and row.locked_until and row.locked_until > now:
                waits.append(row.locked_until)
        ils = rows.get(keys.ils) if keys.ils else None
        if ils is not None and p.ils_lock_after > 0 and ils.last_failure_at:
            window_end = ils.last_failure_at + timedelta(minutes=p.ils_lock_minutes)
            unknown_budget, known_budget = p.ils_budgets()
            if window_end > now and ils.failures >= (known_budget if known else unknown_budget):
                waits.append(window_end)
        return max(waits) if waits else None

    def fail(self, keys: AttemptKeys, rows: Mapping[str, Any], now: datetime) -> None:
        """Count one failure on each counter of the attempt."""
        p = self.policy
        known = self.known(rows.get(keys.pair), now)
        forget = timedelta(days=p.forget_days)
        self._count(rows[keys.pair], p.pair_limit, p.pair_lock_minutes, forget, now)
        if not known:
            self._count(rows[keys.card], p.card_limit, p.card_lock_minutes, forget, now)
        if keys.address:
            limit = p.school_address_limit if keys.school else p.address_limit
            self._count(rows[keys.address], limit, p.address_lock_minutes, timedelta(minutes=p.address_forget_minutes), now)
        if keys.ils:
            row = rows[keys.ils]
            if row.last_failure_at is None or now - row.last_failure_at >= timedelta(minutes=p.ils_lock_minutes):
                row.failures = 0
            row.failures = (row.failures or 0) + 1
            row.last_failure_at = now

    def _count(self, row, limit: int, first_lock_minutes: int, forget: timedelta, now: datetime) -> None:
        if row.last_failure_at is None or now - row.last_failure_at > forget:
            row.failures, row.locks = 0, 0
        row.failures = (row.failures or 0) + 1
        row.last_failure_at = now
        if row.failures >= limit:
            minutes = min(first_lock_minutes * 2 ** (row.locks or 0), self.policy.max_lock_minutes)
            row.locked_until = now + timedelta(minutes=minutes)
            row.locks = (row.locks or 0) + 1
            row.failures = limit - 1  # the next failure after the lock locks again, twice as long

    def succeed(self, keys: AttemptKeys, rows: Mapping[str, Any], now: datetime) -> None:
        """The card signed in from here: clear its counters and remember the pair as known."""
        for key in (keys.pair, keys.card, keys.ils):
            row = rows.get(key) if key else None
            if row is not None:
                row.failures, row.locks, row.locked_until = 0, 0, None
        rows[keys.pair].succeeded_at = now


class Throttle:
    """Checks and counts sign-in failures in the database of ``db`` (a declared part of the ``Runtime``)."""

    def __init__(self, db: Database, policy: ThrottlePolicy | None = None) -> None:
        self.db = db
        self.policy = policy or ThrottlePolicy()
        self.rules = Rules(self.policy)

    def keys(self, cipher, subject_kind: str, subject: str, address: str | None) -> AttemptKeys:
        """The counters of one attempt: the hashed card/e-mail typed, the address and the pair."""

        def digest(text: str) -> str:
            return cipher.lookup_hash(text)[:64]

        return AttemptKeys(
            pair="pair:" + digest(f"pair:{subject_kind}:{subject}|{address or '-'}"),
            card=f"{subject_kind}:{digest(subject_kind + ':' + subject)}",
            address=f"addr:{digest('addr:' + address)}" if address else None,
            ils=f"ils:{digest('ils:' + subject)}" if subject_kind == "card" and self.policy.ils_lock_after > 0 else None,
            school=self.policy.is_school(address),
            kind=subject_kind,
            subject_ref=events.subject_ref(cipher, subject_kind, subject),
            client=address,
        )

    def check(self, keys: AttemptKeys, now: datetime | None = None, *, session: Session | None = None,
              rows: Mapping[str, _CounterRow] | None = None) -> None:
        """Raise ``TooManyAttempts`` (with the seconds to wait) if the attempt may not be made now.

        Decided on ``rows`` (key → a row with ``COUNTER_COLUMNS``) when the caller read them in its own
        statement; else read in ``session`` when given (a request's own session: one indexed query, no
        second connection), else in a read scope of its own.
        """
        now = now or utcnow()
        if rows is not None:
            until = self.rules.refusal(keys, rows, now)
        elif session is not None:
            until = self.rules.refusal(keys, self._rows(session, keys), now)
        else:
            with self.db.scope(write=False) as own:
                until = self.rules.refusal(keys, self._rows(own, keys), now)
        if until is not None:
            raise TooManyAttempts(math.ceil((until - now).total_seconds()))

    @staticmethod
    def _rows(session: Session, keys: AttemptKeys) -> dict[str, _CounterRow]:
        # Plain rows on the session's connection, not ORM objects: this runs on every request of a reading app (``opds.auth``).
        result = session.connection().execute(_COUNTERS, keys.counter_params())
        return {row.key: row for row in result}

    def record_failure(self, keys: AttemptKeys, caller: Session | None = None, now: datetime | None = None, *,
                       event: str = "signin.failure", staff_id: int | None = None) -> None:
        """Count one failure, in a transaction of its own (see the module docstring), with its security events."""
        now = now or utcnow()

        def change(session: Session, rows: dict[str, SignInThrottle]) -> None:
            before = {key: row.locked_until for key, row in rows.items()}
            self.rules.fail(keys, rows, now)
            self._event(session, event, keys, now, staff_id=staff_id)
            locked = sorted({key.split(":", 1)[0] for key, row in rows.items()
                             if row.locked_until and row.locked_until > now and row.locked_until != before.get(key)})
            if locked:  # this failure started a lock: staff hear of it (elibrary.monitoring.alerts)
                until = max(row.locked_until for row in rows.values() if row.locked_until)
                minutes = math.ceil((until - now).total_seconds() / 60)
                self._event(session, "signin.lockout", keys, now, detail={"counters": ",".join(locked), "minutes": minutes})

        self._write(change, keys, caller, on_rollback=True)

    def record_success(self, keys: AttemptKeys, caller: Session | None = None, now: datetime | None = None, *,
                       staff_id: int | None = None) -> None:
        """Clear the card's counters and remember the pair; with a ``caller``, once its sign-in is committed.

        The success is a security event unless the same card signed in from the same address within
        ``SUCCESS_EVENT_GAP`` (an OPDS app signs in with every request).
        """
        now = now or utcnow()

        def change(session: Session, rows: dict[str, SignInThrottle]) -> None:
            previous = rows[keys.pair].succeeded_at
            self.rules.succeed(keys, rows, now)
            if previous is None or now - previous >= SUCCESS_EVENT_GAP:
                self._event(session, "signin.success", keys, now, staff_id=staff_id)

        self._write(change, keys, caller, on_rollback=False)

    def _event(self, session: Session, kind: str, keys: AttemptKeys, now: datetime, **fields: Any) -> None:
        if keys.kind:
            events.record_security_event(session, kind, actor_kind="patron" if keys.kind == "card" else "staff", subject=keys.subject_ref,
                                         address=keys.client, at=now, **fields)

    def _write(self, change: Callable, keys: AttemptKeys, caller: Session | None, *, on_rollback: bool) -> None:
        def run() -> None:
            with self.db.scope() as session:
                change(session, self._locked_rows(session, keys.all()))

        if caller is not None and caller.in_transaction() and (self.db.is_sqlite or not on_rollback):
            after_transaction(caller, run, on_rollback=on_rollback, what="sign-in throttle: recording an attempt")
        else:
            run()

    def _locked_rows(self, session: Session, keys: list[str]) -> dict[str, SignInThrottle]:
        rows = {}
        for key in keys:
            row = session.scalar(select(SignInThrottle).where(SignInThrottle.key == key).with_for_update())
            if row is None:
                try:
                    with session.begin_nested():
                        session.add(SignInThrottle(key=key, failures=0, locks=0))
                except IntegrityError:  # another worker inserted it first
                    pass
                row = session.scalar(select(SignInThrottle).where(SignInThrottle.key == key).with_for_update())
            rows[key] = row  # locked (FOR UPDATE on PostgreSQL, the write lock on SQLite): plain arithmetic is safe
        return rows
