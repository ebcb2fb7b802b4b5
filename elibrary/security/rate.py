"""A sliding-window rate limit kept in this process's memory: N uses per window per key.

Keys are keyed hashes (never a patron id or an address in clear) and nothing is written anywhere, so
the counters say nothing of who searched for what. Each worker process counts on its own: with W
workers a determined client behind a load balancer gets at most W times the limit, which still caps a
harvest of book text through snippets (``catalog.text_search``).
"""
from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import deque


class WindowLimit:
    """``limit`` uses per ``window`` seconds per key."""

    MAX_KEYS = 50_000  # past this the oldest keys are forgotten (memory stays bounded)

    def __init__(self, limit: int, window: float, secret: bytes = b"") -> None:
        self.limit = limit
        self.window = window
        self._secret = secret or hashlib.sha256(str(id(self)).encode()).digest()
        self._uses: dict[bytes, deque[float]] = {}
        self._lock = threading.Lock()

    def _key(self, key: str) -> bytes:
        return hmac.new(self._secret, key.encode("utf-8"), hashlib.sha256).digest()[:16]

    def allow(self, key: str, now: float | None = None, *, limit: int | None = None) -> bool:
        """Count one use of ``key``; False (and not counted) when the window already holds ``limit`` uses."""
        now = time.monotonic() if now is None else now
        limit = self.limit if limit is None else limit
        digest = self._key(key)
        with self._lock:
            uses = self._uses.get(digest)
            if uses is None:
                if len(self._uses) >= self.MAX_KEYS:
                    self._uses.pop(next(iter(self._uses)))
                uses = self._uses[digest] = deque()
            while uses and uses[0] <= now - self.window:
                uses.popleft()
            if len(uses) >= limit:
                return False
            uses.append(now)
            return True

    @classmethod
    def parse(cls, value: str, secret: bytes = b"") -> "WindowLimit":
        """From a setting like ``"30/600"`` (30 uses per 600 seconds)."""
        count, _, seconds = str(value).partition("/")
        return cls(int(count), float(seconds or 600), secret)
