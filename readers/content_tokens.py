"""Short-lived signed grants for book content (EPUB entries, PDF ranges), one per title and loan.

The reader page hands the engine a token; every content request carries it in the ``X-Content-Token``
header (never in the URL, so no access log ever holds one), and the content routes need nothing else:
no session cookie, which is never sent to the separate content origin (``ELIBRARY_CONTENT_URL``).
A token names the title, the loan it rests on (0 for an open title) and its expiry; the loan is still
re-checked on every request (``services.grant_for_content``), so a returned loan closes it at once.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

HEADER = "X-Content-Token"
TTL_SECONDS = 300  # the reader page renews its token well before this (a few minutes, never hours)
_PURPOSE = b"elibrary reader content token v1"


class BadContentToken(Exception):
    """The token is missing, malformed, for another title, forged or expired."""


@dataclass(frozen=True)
class ContentClaims:
    """What a valid token allows: reading ``title_id`` under ``loan_id`` (0: an open title) until ``expires``."""

    title_id: int
    loan_id: int
    expires: int


def token_key(secret: str | bytes) -> bytes:
    """The signing key, derived from the site's secret key for this one purpose."""
    raw = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(raw, _PURPOSE, hashlib.sha256).digest()


def _signature(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def issue(key: bytes, title_id: int, loan_id: int | None, *, now: float | None = None,
          ttl: int = TTL_SECONDS) -> str:
    """A token for reading ``title_id`` under ``loan_id`` (None for an open title) for ``ttl`` seconds."""
    expires = int(now if now is not None else time.time()) + ttl
    body = f"{int(title_id)}.{int(loan_id or 0)}.{expires}"
    return f"{body}.{_signature(key, body)}"


def verify(key: bytes, token: str | None, title_id: int, *, now: float | None = None) -> ContentClaims:
    """The claims of a genuine, unexpired token for ``title_id``, else ``BadContentToken``."""
    if not token or len(token) > 200:
        raise BadContentToken("missing")
    parts = token.split(".")
    if len(parts) != 4 or not all(part.isdigit() for part in parts[:3]):
        raise BadContentToken("malformed")
    body = ".".join(parts[:3])
    if not hmac.compare_digest(_signature(key, body), parts[3]):
        raise BadContentToken("forged")
    claims = ContentClaims(int(parts[0]), int(parts[1]), int(parts[2]))
    if claims.title_id != title_id:
        raise BadContentToken("another title")
    if claims.expires <= (now if now is not None else time.time()):
        raise BadContentToken("expired")
    return claims
