"""The OPDS caches of one runtime: feed counts, feed pages (shared, and per patron) and recently verified credentials.

Declared on the ``Runtime`` (``runtime.opds``) and built by the wiring room, so two runtimes in one process
never share one. Nothing here imports Flask.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from elibrary.opds.circulation import PatronStamp
from elibrary.opds.feeds import TTLCache
from elibrary.security.throttle import AttemptKeys


@dataclass(frozen=True)
class KeptPage:
    """A rendered feed page and the titles whose circulation it shows (``views.shared_cache``)."""

    body: bytes
    content_type: str
    title_ids: frozenset[int]
    watermark: int = 0  # the newest lending event when it was rendered (``circulation.PatronState.newest``)
    stamp: PatronStamp | None = None  # a patron's own page: their loans and holds it shows (served while unchanged)


@dataclass(frozen=True)
class Remembered:
    """A verified credential: whose, the PIN hash it was verified against, and its throttle counters."""

    patron_id: int
    pin_hash: str | None
    address: str | None = None  # the client address ``keys`` were computed for
    keys: AttemptKeys | None = None


class CredentialCache:
    """Recently verified credentials (keyed hash of card and PIN → ``Remembered``), per process, for a few minutes."""

    def __init__(self, seconds: float, size: int = 10_000) -> None:
        self.seconds = seconds
        self.size = size
        self._data: dict[str, tuple[float, Remembered]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Remembered | None:
        """What was verified under ``key``, if still fresh."""
        hit = self._data.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, key: str, patron_id: int, pin_hash: str | None) -> None:
        """Remember a successful sign-in."""
        if self.seconds <= 0:
            return
        with self._lock:
            if len(self._data) >= self.size:
                self._data.clear()
            self._data[key] = (time.monotonic() + self.seconds, Remembered(patron_id, pin_hash))

    def attempt_keys(self, key: str, address: str | None, compute: Callable[[str | None], AttemptKeys]) -> AttemptKeys:
        """The throttle counters of the credential under ``key`` from ``address`` (kept: five keyed hashes a request saved)."""
        expires, remembered = self._data.get(key, (0.0, None))
        if remembered is not None and remembered.keys is not None and remembered.address == address:
            return remembered.keys
        keys = compute(address)
        if remembered is not None:
            with self._lock:
                if self._data.get(key, (0.0, None))[1] is remembered:
                    self._data[key] = (expires, replace(remembered, address=address, keys=keys))
        return keys


@dataclass
class OpdsCaches:
    """Per-process caches of the OPDS feeds (see ``feeds.TTLCache`` and ``CredentialCache``)."""

    counts: TTLCache
    pages: TTLCache
    credentials: CredentialCache
    patron_pages: TTLCache  # pages showing a patron's own loans or holds, keyed by patron and page (``KeptPage.stamp``)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "OpdsCaches":
        """Lifetimes from ``ELIBRARY_OPDS_COUNT_SECONDS``, ``_FEED_CACHE_SECONDS`` and ``_AUTH_CACHE_SECONDS``."""
        return cls(
            counts=TTLCache(float(settings.get("ELIBRARY_OPDS_COUNT_SECONDS", 30))),
            pages=TTLCache(float(settings.get("ELIBRARY_OPDS_FEED_CACHE_SECONDS", 10)), size=256),
            credentials=CredentialCache(float(settings.get("ELIBRARY_OPDS_AUTH_CACHE_SECONDS", 300))),
            # bounded like ``pages``: at most this many pages (~50-150 KB each) per process, whatever the number of patrons
            patron_pages=TTLCache(float(settings.get("ELIBRARY_OPDS_FEED_CACHE_SECONDS", 10)), size=256),
        )
