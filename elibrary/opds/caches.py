"""The OPDS caches of one runtime: feed counts, feed pages (anonymous and per patron) and recently verified credentials.

Declared on the ``Runtime`` (``runtime.opds``) and built by the wiring room, so two runtimes in one process
never share one. Nothing here imports Flask.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from elibrary.opds.feeds import TTLCache


class CredentialCache:
    """Recently verified credentials (keyed hash → patron id and PIN hash), per process, for a few minutes."""

    def __init__(self, seconds: float, size: int = 10_000) -> None:
        self.seconds = seconds
        self.size = size
        self._data: dict[str, tuple[float, tuple[int, str | None]]] = {}
        self._checked: dict[str, float] = {}  # when the sign-in throttle last let each key through
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[int, str | None] | None:
        """(patron id, PIN hash) verified under ``key``, if still fresh."""
        hit = self._data.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, key: str, verified: tuple[int, str | None]) -> None:
        """Remember a successful sign-in."""
        if self.seconds <= 0:
            return
        with self._lock:
            if len(self._data) >= self.size:
                self._data.clear()
                self._checked.clear()
            self._data[key] = (time.monotonic() + self.seconds, verified)
            self._checked[key] = time.monotonic()  # the sign-in itself looked at the throttle

    def due_for_check(self, key: str, seconds: float) -> bool:
        """Whether the sign-in throttle was last looked at for ``key`` more than ``seconds`` ago."""
        return time.monotonic() - self._checked.get(key, 0.0) >= seconds

    def forget_checks(self) -> None:
        """Look at the throttle again for every key (after a failed sign-in: a card may be locked now)."""
        with self._lock:
            self._checked.clear()

    def checked(self, key: str) -> None:
        """The throttle was just looked at for ``key`` (it let the credentials through)."""
        with self._lock:
            if key in self._data:
                self._checked[key] = time.monotonic()


@dataclass
class OpdsCaches:
    """Per-process caches of the OPDS feeds (see ``feeds.TTLCache`` and ``CredentialCache``)."""

    counts: TTLCache
    pages: TTLCache
    credentials: CredentialCache
    patron_pages: TTLCache  # signed-in patrons' pages, keyed by patron and the state of their loans and holds

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
