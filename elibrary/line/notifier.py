"""Delivery per channel: LINE push for ``line`` messages, the e-mail notifier for ``email`` ones.

``ELIBRARY_NOTIFIER = "line"`` selects it; e-mail goes through ``ELIBRARY_NOTIFIER_EMAIL`` (``smtp`` by
default). Pushes respect quiet hours (``ELIBRARY_LINE_QUIET_HOURS``, Japan time), carry an
``X-Line-Retry-Key`` derived from the outbox row (a retry is never a second message), wait on 429, stop for
a user who blocked the account, and — when the month's quota is used up — fall back to e-mail and alert staff.
The notifier writes nothing to the database while the outbox holds its transaction: what it learns
(blocks, quota) is kept in ``feedback`` and applied by ``after_delivery(session)`` in that same transaction.
"""
from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from elibrary.db import utcnow
from elibrary.line.client import (
    MULTICAST_MAX,
    LineClient,
    LineError,
    LineUnavailable,
    QuotaExhausted,
    RateLimited,
    RecipientUnreachable,
)
from elibrary.notify.base import DeliverLater, DeliveryFailed, Message, Notifier, SendSeparately, Undeliverable

log = logging.getLogger(__name__)
TOKYO = ZoneInfo("Asia/Tokyo")
RETRY_NAMESPACE = uuid.UUID("6f1c2a52-6c1e-4a57-9a0e-3f0d2b7c9e11")
DEFAULT_BACKOFF = timedelta(seconds=60)
QUOTA_RETRY = timedelta(hours=6)


def parse_quiet_hours(value: str | None) -> tuple[time, time] | None:
    """``"21:00-08:00"`` → (21:00, 08:00); empty → None (no quiet hours)."""
    if not value:
        return None
    start, _, end = str(value).partition("-")
    try:
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        raise ValueError(f"ELIBRARY_LINE_QUIET_HOURS must look like 21:00-08:00, not {value!r}") from None


def quiet_until(now: datetime, quiet: tuple[time, time] | None) -> datetime | None:
    """When the quiet hours around ``now`` end (UTC), or None if ``now`` is not in them."""
    if quiet is None:
        return None
    start, end = quiet
    local = now.astimezone(TOKYO)
    t = local.time()
    inside = (start <= t or t < end) if start > end else (start <= t < end)
    if not inside:
        return None
    end_day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, end, TOKYO).astimezone(now.tzinfo)


def retry_key(message: Message) -> str:
    """The ``X-Line-Retry-Key`` of a message: the same UUID on every attempt of one outbox row."""
    return str(uuid.uuid5(RETRY_NAMESPACE, message.key or f"{message.kind}:{message.address}:{message.body}"))


class LineNotifier:
    """Sends ``line`` messages by push (identical ones by multicast) and hands ``email`` ones to the e-mail notifier."""

    batch_limit = MULTICAST_MAX

    def __init__(self, client: LineClient | None, email: Notifier, *, quiet_hours: tuple[time, time] | None = None, clock=utcnow) -> None:
        self.client, self.email, self.quiet_hours, self.clock = client, email, quiet_hours, clock
        self.feedback: list[tuple[str, str, Message]] = []  # (event, line user id, message): "blocked", "quota"
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "LineNotifier":
        """The runtime's LINE client (``settings["line_client"]``, given by the wiring) and the e-mail notifier of ``ELIBRARY_NOTIFIER_EMAIL``."""
        from elibrary import notify
        from elibrary.registry import load_backend

        email_backend = settings.get("ELIBRARY_NOTIFIER_EMAIL") or "smtp"
        if email_backend == "line":
            raise ValueError("ELIBRARY_NOTIFIER_EMAIL cannot be line")
        email = load_backend("notifier", notify.BACKENDS, email_backend, settings)
        return cls(settings.get("line_client"), email, quiet_hours=parse_quiet_hours(settings.get("ELIBRARY_LINE_QUIET_HOURS")))

    def batchable(self, message: Message) -> bool:
        """LINE texts may go out as one multicast; e-mail goes one by one."""
        return message.channel == "line"

    def send(self, message: Message) -> None:
        """Deliver on the message's channel, or raise ``DeliveryFailed``/``DeliverLater``/``Undeliverable``."""
        if message.channel != "line":
            self.email.send(message)
            return
        self._line(lambda client: client.push(message.address, _texts(message), retry_key(message)), [message], alone=True)

    def send_identical(self, messages: Sequence[Message], batch_key: str) -> None:
        """One multicast (≤ 500 users) of the same text, under one retry key for the batch."""
        users = [message.address for message in messages]
        self._line(lambda client: client.multicast(users, _texts(messages[0]), str(uuid.uuid5(RETRY_NAMESPACE, f"batch:{batch_key}"))), messages, alone=False)

    def _line(self, call, messages: Sequence[Message], *, alone: bool) -> None:
        if self.client is None:
            raise DeliveryFailed("LINE is not configured")
        now = self.clock()
        later = quiet_until(now, self.quiet_hours)
        if later is not None:
            raise DeliverLater("quiet hours", later)
        try:
            call(self.client)
        except RateLimited as exc:
            wait = timedelta(seconds=exc.retry_after) if exc.retry_after else DEFAULT_BACKOFF
            raise DeliverLater("LINE rate limit", now + wait) from None
        except QuotaExhausted:
            for message in messages:
                self._remember("quota", message)
            return  # handed to e-mail by ``after_delivery``
        except RecipientUnreachable:
            if not alone:  # one recipient of the batch is refused: send them one by one to learn which
                raise SendSeparately("a recipient of the multicast was refused") from None
            self._remember("blocked", messages[0])
            raise Undeliverable("the LINE user blocked the account or is not a friend") from None
        except LineUnavailable as exc:
            raise DeliveryFailed(str(exc)) from None
        except LineError as exc:
            raise DeliveryFailed(str(exc)[:200]) from None

    def _remember(self, event: str, message: Message) -> None:
        with self._lock:
            self.feedback.append((event, message.address, message))

    def after_delivery(self, session, cipher) -> None:
        """Apply what the pushes taught, in the outbox's transaction: mark blocks, reroute to e-mail, alert staff."""
        from elibrary.line.notices import apply_feedback

        with self._lock:
            feedback, self.feedback = self.feedback, []
        if feedback:
            apply_feedback(session, cipher, feedback, self.clock())


def _texts(message: Message) -> list[dict]:
    return [{"type": "text", "text": message.body[:5000]}]
