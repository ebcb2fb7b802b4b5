"""Notifiers that do not leave the machine: a recording fake for tests and a log-only default."""
from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from elibrary.notify.base import Message

log = logging.getLogger(__name__)


class RecordingNotifier:
    """Keeps every message in ``sent`` (the fake for tests)."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "RecordingNotifier":
        """Settings are ignored."""
        return cls()

    def send(self, message: Message) -> None:
        """Record the message."""
        with self._lock:
            self.sent.append(message)


class LogNotifier:
    """Logs that a message would be sent, without its address or body (they may be personal data)."""

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "LogNotifier":
        """Settings are ignored."""
        return cls()

    def send(self, message: Message) -> None:
        """Write one log line with the channel and kind only."""
        log.info("notification not delivered (no notifier configured): channel=%s kind=%s", message.channel, message.kind)
