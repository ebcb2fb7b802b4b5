"""Per-年度 pseudonym keys: the borrower key of a statistics event is an HMAC of the patron under the key of
the 年度 (April–March, Japan time) the event falls in.

Within one 年度 the same patron always gets the same key, so unique borrowers can be counted; the key of a
closed 年度 is erased (``erase_closed``, the ``stats-year-keys`` job), after which nobody — not even with the
database and the data key — can link that year's events to a person or to another year. The keys are kept
encrypted with the data-key ring (context ``stats.year_key``).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from datetime import date, datetime

from sqlalchemy import Integer, LargeBinary, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from elibrary.db import Base, UTCDateTime, utcnow
from elibrary.security.crypto import DataCipher

INFO_KEY = "elibrary.year_keys"  # every session of a wired database finds the ``YearKeys`` here
CONTEXT = "stats.year_key"


class StatsYearKey(Base):
    """The pseudonym key of one 年度, encrypted; deleted when the 年度 has closed."""

    __tablename__ = "stats_year_keys"

    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # 2026 = 令和8年度
    key_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def fiscal_year_of(day: date) -> int:
    """The 年度 a Japan-time date belongs to: the year it starts in April (31 March 2027 → 2026)."""
    return day.year if day.month >= 4 else day.year - 1


class YearKeys:
    """The borrower keys of one database's runtime; the current 年度's key is cached in memory only while current."""

    def __init__(self, cipher: DataCipher) -> None:
        self._cipher = cipher
        self._lock = threading.Lock()
        self._cached: tuple[int, bytes] | None = None

    def borrower_key(self, session: Session, patron_id: int, day: date) -> str:
        """The pseudonymous key of ``patron_id`` for the 年度 of ``day`` (32 hex characters)."""
        key = self._key(session, fiscal_year_of(day))
        return hmac.new(key, f"borrower:{patron_id}".encode(), hashlib.sha256).hexdigest()[:32]

    def _key(self, session: Session, year: int) -> bytes:
        with self._lock:
            if self._cached is not None and self._cached[0] == year:
                return self._cached[1]
        stored = session.scalar(select(StatsYearKey.key_enc).where(StatsYearKey.fiscal_year == year))
        if stored is None:
            fresh = secrets.token_hex(32)
            try:
                with session.begin_nested():  # two workers starting the 年度 at once: the second reads the first's
                    session.add(StatsYearKey(fiscal_year=year, key_enc=self._cipher.encrypt(fresh, CONTEXT)))
            except IntegrityError:
                pass
            stored = session.scalar(select(StatsYearKey.key_enc).where(StatsYearKey.fiscal_year == year))
        key = bytes.fromhex(self._cipher.decrypt(stored, CONTEXT) or "")
        with self._lock:
            self._cached = (year, key)
        return key

    def forget(self) -> None:
        """Drop the cached key (after an erase in this process)."""
        with self._lock:
            self._cached = None


def erase_closed(session: Session, today: date) -> list[int]:
    """Erase the keys of every 年度 before the one ``today`` is in; returns the years erased."""
    current = fiscal_year_of(today)
    years = list(session.scalars(select(StatsYearKey.fiscal_year).where(StatsYearKey.fiscal_year < current)))
    if years:
        session.execute(delete(StatsYearKey).where(StatsYearKey.fiscal_year.in_(years)))
        session.flush()
    return years


def year_keys_of(session: Session) -> YearKeys | None:
    """The ``YearKeys`` the wiring room shared with this session's database (None for a bare session)."""
    return session.info.get(INFO_KEY)
