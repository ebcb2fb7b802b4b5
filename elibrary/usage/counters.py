"""In-memory counters of one process, written to the aggregate tables at intervals (no row per request).

Each web worker counts in memory and adds its counts to the day rows with one upsert per key when
``flush_due`` (after the response has been sent) or the ``usage-flush`` job runs; ``flush`` at exit keeps
the last minute. A visitor is the HMAC of address, browser and language under the day's salt: the same
person is one visit a day on every worker, and with the salt erased the next day nobody can recompute it.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from elibrary.db import Database, utcnow
from elibrary.search.analysis import normalize
from elibrary.usage.models import DaySalt, SearchQueryDay, TitleViewDay, VisitDay, VisitSeen

AREAS = ("site", "reader")
MAX_QUERY = 200
_TOKYO = ZoneInfo("Asia/Tokyo")


def tokyo_day(now: datetime) -> date:
    """The Japan-time date of ``now``."""
    return now.astimezone(_TOKYO).date()


@dataclass
class _Pending:
    searches: dict[tuple[date, str], list] = field(default_factory=dict)  # (day, key) -> [shown, searches, zero, last]
    views: dict[tuple[date, int], int] = field(default_factory=dict)
    visitors: set[tuple[date, str, str]] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.searches or self.views or self.visitors)


class UsageCounters:
    """Counts of one process for one database, flushed every ``interval`` seconds."""

    def __init__(self, db: Database, interval: float = 60.0) -> None:
        self.db = db
        self.interval = interval
        self._lock = threading.Lock()
        self._pending = _Pending()
        self._last_flush = time.monotonic()

    def record_search(self, text: str, hits: int, now: datetime | None = None) -> None:
        """A catalog search for ``text`` found ``hits`` titles (the words are kept only as aggregate counts)."""
        key = " ".join(normalize(text or "").split())[:MAX_QUERY]
        if not key:
            return
        day = tokyo_day(now or utcnow())
        with self._lock:
            entry = self._pending.searches.setdefault((day, key), [text.strip()[:MAX_QUERY], 0, 0, 0])
            entry[1] += 1
            entry[2] += 1 if hits == 0 else 0
            entry[3] = hits

    def record_view(self, title_id: int, now: datetime | None = None) -> None:
        """A title's page was shown."""
        day = tokyo_day(now or utcnow())
        with self._lock:
            self._pending.views[(day, title_id)] = self._pending.views.get((day, title_id), 0) + 1

    def record_visit(self, area: str, identity: str, now: datetime | None = None) -> None:
        """A request from a visitor (``identity``: address, browser, language); counted once a day per area."""
        if area not in AREAS:
            return
        day = tokyo_day(now or utcnow())
        # Salted when written (``flush``): a request never waits for the database here. Until then only this
        # digest is held, in this process's memory.
        digest = hashlib.sha256(identity.encode("utf-8", "replace")).hexdigest()
        with self._lock:
            self._pending.visitors.add((day, area, digest))

    def flush_due(self) -> bool:
        """Whether counts wait and ``interval`` has passed since the last flush."""
        return bool(self._pending) and time.monotonic() - self._last_flush >= self.interval

    def flush(self) -> int:
        """Add the pending counts to the day rows (one transaction of its own); returns how many keys were written."""
        with self._lock:
            pending, self._pending = self._pending, _Pending()
            self._last_flush = time.monotonic()
        if not pending:
            return 0
        try:
            with self.db.scope() as session:
                return _write(session, pending)
        except Exception:
            with self._lock:  # keep the counts for the next try
                _merge(self._pending, pending)
            raise



def day_salt(session: Session, day: date) -> str:
    """The salt of ``day``, made by the first worker to need it."""
    salt = session.scalar(select(DaySalt.salt).where(DaySalt.day == day))
    if salt is None:
        try:
            with session.begin_nested():
                session.add(DaySalt(day=day, salt=secrets.token_hex(32)))
        except IntegrityError:
            pass
        salt = session.scalar(select(DaySalt.salt).where(DaySalt.day == day))
    return salt


def _insert(session: Session, model):
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(model)


def _write(session: Session, pending: _Pending) -> int:
    written = 0
    for (day, key), (shown, searches, zero, last) in sorted(pending.searches.items()):
        stmt = _insert(session, SearchQueryDay).values(day=day, query_key=key, shown=shown, searches=searches, zero_hits=zero, last_hits=last)
        session.execute(stmt.on_conflict_do_update(index_elements=["day", "query_key"], set_={
            "searches": SearchQueryDay.searches + searches, "zero_hits": SearchQueryDay.zero_hits + zero, "last_hits": last}))
        written += 1
    for (day, title_id), views in sorted(pending.views.items()):
        stmt = _insert(session, TitleViewDay).values(day=day, title_id=title_id, views=views)
        session.execute(stmt.on_conflict_do_update(index_elements=["day", "title_id"], set_={"views": TitleViewDay.views + views}))
        written += 1
    new_visits: dict[tuple[date, str], int] = {}
    salts: dict[date, bytes] = {}
    for day, area, digest in sorted(pending.visitors):
        if day not in salts:
            salts[day] = day_salt(session, day).encode()
        visitor = hmac.new(salts[day], digest.encode(), hashlib.sha256).hexdigest()[:32]
        stmt = _insert(session, VisitSeen).values(day=day, area=area, visitor=visitor).on_conflict_do_nothing().returning(VisitSeen.visitor)
        if session.execute(stmt).first() is not None:  # a row back: a visitor not yet seen today (rowcount is -1 on psycopg)
            new_visits[(day, area)] = new_visits.get((day, area), 0) + 1
    for (day, area), visits in sorted(new_visits.items()):
        stmt = _insert(session, VisitDay).values(day=day, area=area, visits=visits)
        session.execute(stmt.on_conflict_do_update(index_elements=["day", "area"], set_={"visits": VisitDay.visits + visits}))
        written += 1
    return written


def _merge(into: _Pending, other: _Pending) -> None:
    for key, (shown, searches, zero, last) in other.searches.items():
        entry = into.searches.setdefault(key, [shown, 0, 0, last])
        entry[1] += searches
        entry[2] += zero
    for key, views in other.views.items():
        into.views[key] = into.views.get(key, 0) + views
    into.visitors |= other.visitors


def erase_old_salts(session: Session, today: date) -> int:
    """Erase the salts and visitor hashes of days before ``today``: past visits can no longer be linked."""
    session.execute(delete(VisitSeen).where(VisitSeen.day < today))
    removed = session.execute(delete(DaySalt).where(DaySalt.day < today)).rowcount or 0
    session.flush()
    return removed

