"""The notifier interface: deliver a message to a patron by e-mail, LINE, ...

Services never call a notifier directly: they add an ``OutboxMessage`` row in the same transaction
(``notify.outbox.enqueue``), and the after-commit delivery hands committed rows to the notifier, so
nobody hears of a loan that was rolled back.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


class DeliveryFailed(Exception):
    """The message could not be delivered now; it stays in the outbox to be retried."""


class DeliverLater(DeliveryFailed):
    """Not now, and not a failure: quiet hours or a rate limit. Retried at ``not_before`` without using up an attempt."""

    def __init__(self, reason: str, not_before: datetime) -> None:
        super().__init__(reason)
        self.not_before = not_before


class Undeliverable(DeliveryFailed):
    """It will never be delivered (the recipient blocked the account): the outbox gives up at once."""


class SendSeparately(DeliveryFailed):
    """A batch was refused as a whole for one recipient's sake: the outbox sends its messages one by one."""


@dataclass(frozen=True)
class Message:
    """One message to one recipient address on one channel."""

    channel: str  # "email", "line"
    address: str
    subject: str
    body: str
    kind: str = "staff"  # "due-soon", "hold-ready", "staff", "confirm-email", ...
    key: str = ""  # stable per outbox row: LINE's X-Line-Retry-Key is derived from it, so a retry never sends twice


@runtime_checkable
class Notifier(Protocol):
    """Sends messages."""

    def send(self, message: Message) -> None:
        """Deliver or raise ``DeliveryFailed``."""


@runtime_checkable
class BatchNotifier(Protocol):
    """An optional capability: one text to many recipients in one request (LINE's multicast).

    The outbox groups identical messages that ``batchable`` accepts, at most ``batch_limit`` a request, and
    gives each group a ``batch_key`` that stays with its rows until they are delivered.
    """

    batch_limit: int

    def batchable(self, message: Message) -> bool:
        """Whether this message may travel in a batch."""

    def send_identical(self, messages: Sequence[Message], batch_key: str) -> None:
        """Deliver the same text to every recipient, or raise ``DeliveryFailed`` (``SendSeparately``) for them all."""
