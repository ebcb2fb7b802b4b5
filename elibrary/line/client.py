"""A small client of LINE's APIs: ID-token verification (LINE Login) and push/multicast (Messaging API).

The HTTP client is injected (an ``httpx.Client``), and every base URL comes from the settings
(``ELIBRARY_LINE_API_BASE``), so tests run against a fake LINE API on loopback. Nothing here knows of
Flask or the database. Errors are the exceptions below; none carries a token or a user id.
"""
from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

ISSUER = "https://access.line.me"
USER_ID = re.compile(r"^U[0-9a-f]{32}$")
MULTICAST_MAX = 500


class LineError(Exception):
    """Base of LINE client errors."""


class LineUnavailable(LineError):
    """LINE did not answer, answered 5xx, or timed out: try again later."""


class TokenRejected(LineError):
    """The ID token is expired, forged, for another channel, or malformed."""


class RateLimited(LineError):
    """429: too many requests now; ``retry_after`` seconds if LINE said."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QuotaExhausted(LineError):
    """429 because the month's message quota is used up: not a rate limit, nothing will pass until next month."""


class RecipientUnreachable(LineError):
    """4xx about the recipient: the user blocked the account or is not a friend; stop pushing to them."""


class MessageRejected(LineError):
    """Another 4xx: the request itself is wrong (a bug or a bad token); retrying will not help."""


@dataclass(frozen=True)
class IdTokenClaims:
    """What a verified ID token says; only ``sub`` identifies the user."""

    sub: str
    aud: str
    exp: int
    iat: int
    nonce: str | None = None


class LineClient:
    """LINE Login verification and Messaging API pushes."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        api_base: str = "https://api.line.me",
        login_channel_id: str | None = None,
        messaging_token: str | None = None,
        clock=time.time,
    ) -> None:
        self.http = http
        self.api_base = api_base.rstrip("/")
        self.login_channel_id = str(login_channel_id) if login_channel_id else None
        self.messaging_token = messaging_token
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], http: httpx.Client | None = None) -> "LineClient":
        """Built from the ``ELIBRARY_LINE_*`` settings."""
        timeout = float(settings.get("ELIBRARY_LINE_TIMEOUT") or 10)
        return cls(
            http or httpx.Client(timeout=timeout),
            api_base=settings.get("ELIBRARY_LINE_API_BASE") or "https://api.line.me",
            login_channel_id=settings.get("ELIBRARY_LINE_LOGIN_CHANNEL_ID"),
            messaging_token=settings.get("ELIBRARY_LINE_MESSAGING_TOKEN"),
        )

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()

    # LINE Login -------------------------------------------------------------------------------

    def verify_id_token(self, id_token: str, nonce: str | None = None) -> IdTokenClaims:
        """Verify with ``POST /oauth2/v2.1/verify``, then check audience, issuer, expiry and the user id ourselves."""
        if not self.login_channel_id:
            raise TokenRejected("LINE Login is not configured")
        if not id_token or len(id_token) > 8192:
            raise TokenRejected("no ID token")
        form = {"id_token": id_token, "client_id": self.login_channel_id}
        if nonce:
            form["nonce"] = nonce
        response = self._call("POST", "/oauth2/v2.1/verify", data=form)
        if response.status_code == 400:
            raise TokenRejected("LINE refused the ID token")
        self._raise_for_status(response)
        claims = response.json()
        now = self.clock()
        try:
            parsed = IdTokenClaims(
                sub=str(claims["sub"]), aud=str(claims["aud"]), exp=int(claims["exp"]), iat=int(claims.get("iat", 0)),
                nonce=claims.get("nonce"),
            )
        except (KeyError, TypeError, ValueError):
            raise TokenRejected("the verify answer lacks sub, aud or exp") from None
        if parsed.aud != self.login_channel_id:
            raise TokenRejected("the ID token is for another channel")
        if claims.get("iss") != ISSUER:
            raise TokenRejected("the ID token has another issuer")
        if parsed.exp <= now:
            raise TokenRejected("the ID token has expired")
        if not USER_ID.match(parsed.sub):
            raise TokenRejected("the ID token's user id is malformed")
        if nonce is not None and parsed.nonce != nonce:
            raise TokenRejected("the ID token's nonce does not match")
        return parsed

    # Messaging API ----------------------------------------------------------------------------

    def push(self, to: str, messages: Sequence[dict], retry_key: str) -> None:
        """``POST /v2/bot/message/push``; a 409 (this retry key was already accepted) counts as sent."""
        self._send("/v2/bot/message/push", {"to": to, "messages": list(messages)}, retry_key)

    def multicast(self, to: Sequence[str], messages: Sequence[dict], retry_key: str) -> None:
        """``POST /v2/bot/message/multicast`` to at most 500 users."""
        if not 1 <= len(to) <= MULTICAST_MAX:
            raise ValueError(f"multicast takes 1 to {MULTICAST_MAX} users")
        self._send("/v2/bot/message/multicast", {"to": list(to), "messages": list(messages)}, retry_key)

    def reply(self, reply_token: str, messages: Sequence[dict]) -> None:
        """``POST /v2/bot/message/reply`` (free of quota; the token lives about a minute)."""
        response = self._call("POST", "/v2/bot/message/reply", json={"replyToken": reply_token, "messages": list(messages)}, headers=self._bearer())
        self._raise_for_status(response)

    def issue_link_token(self, user_id: str) -> str:
        """``POST /v2/bot/user/{userId}/linkToken``: start LINE's account-link flow for a friend."""
        if not USER_ID.match(user_id):
            raise ValueError("not a LINE user id")
        response = self._call("POST", f"/v2/bot/user/{user_id}/linkToken", headers=self._bearer())
        self._raise_for_status(response)
        return str(response.json()["linkToken"])

    def _send(self, path: str, body: dict, retry_key: str) -> None:
        headers = {**self._bearer(), "X-Line-Retry-Key": retry_key}
        response = self._call("POST", path, json=body, headers=headers)
        if response.status_code == 409:
            return  # accepted earlier under the same retry key: never send twice
        self._raise_for_status(response)

    def _bearer(self) -> dict[str, str]:
        if not self.messaging_token:
            raise MessageRejected("the Messaging API token is not configured")
        return {"Authorization": f"Bearer {self.messaging_token}"}

    def _call(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            return self.http.request(method, self.api_base + path, **kwargs)
        except httpx.TimeoutException:
            raise LineUnavailable("LINE timed out") from None
        except httpx.HTTPError as exc:
            raise LineUnavailable(f"LINE could not be reached ({type(exc).__name__})") from None

    @staticmethod
    def _raise_for_status(response: httpx.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        text = _error_message(response)
        if status == 429:
            if "quota" in text.lower() or "monthly limit" in text.lower():
                raise QuotaExhausted("the monthly message quota is used up")
            raise RateLimited("LINE rate limit", _retry_after(response))
        if status >= 500:
            raise LineUnavailable(f"LINE answered {status}")
        if status in (400, 403, 404) and _about_recipient(text):
            raise RecipientUnreachable(f"LINE answered {status}: the recipient cannot be reached")
        raise MessageRejected(f"LINE answered {status}: {text[:120]}")


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    details = " ".join(str(d.get("message", "")) for d in body.get("details", []) if isinstance(d, dict))
    return f"{body.get('message', '')} {details}".strip()


def _about_recipient(text: str) -> bool:
    words = text.lower()
    return any(w in words for w in ("not found", "blocked", "not a friend", "invalid user", "the property, 'to'", "the property, 'to["))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value else None
    except ValueError:
        return None


def line_client_from_settings(settings: Mapping[str, Any]) -> LineClient | None:
    """The runtime's LINE client, or None when neither LINE channel is configured."""
    if not (settings.get("ELIBRARY_LINE_LOGIN_CHANNEL_ID") or settings.get("ELIBRARY_LINE_MESSAGING_TOKEN")):
        return None
    return LineClient.from_settings(settings)
