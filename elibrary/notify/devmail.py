"""A development-only notifier (``ELIBRARY_NOTIFIER = "dev"``): keeps what would have been sent, for ``/dev/mail``.

A newcomer trying the demo can then open the confirmation link of a registration, or read a notice,
without a mail server. Messages are files under ``ELIBRARY_DEV_MAIL_PATH`` (``instance/dev-mail``), one
JSON file each, so every web worker and the CLI see the same mailbox. Refused in production, where it
would keep personal data in plain files: ``config.check_production`` and ``from_settings`` both say no.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from elibrary.config import ConfigError
from elibrary.notify.base import Message

KEEP = 200  # the newest messages kept; older ones are removed


@dataclass(frozen=True)
class KeptMessage:
    """A message as the development mailbox shows it."""

    sent_at: datetime
    channel: str
    address: str
    subject: str
    body: str
    kind: str


class DevMailbox:
    """Writes each message to a file instead of sending it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "DevMailbox":
        """The mailbox folder of the settings; never in production."""
        if settings.get("ELIBRARY_ENV") == "production":
            raise ConfigError("the dev notifier keeps messages in plain files and is for development only; set ELIBRARY_NOTIFIER to smtp or line")
        path = settings.get("ELIBRARY_DEV_MAIL_PATH") or Path(settings.get("ELIBRARY_INSTANCE_PATH") or "instance") / "dev-mail"
        return cls(path)

    def send(self, message: Message) -> None:
        """Keep the message (atomically: a reader never sees half a file)."""
        self.path.mkdir(parents=True, exist_ok=True)
        record = {"sent_at": datetime.now(timezone.utc).isoformat(), **asdict(message)}
        name = f"{time.time_ns():020d}-{os.getpid()}.json"
        fd, temporary = tempfile.mkstemp(dir=self.path, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh, ensure_ascii=False)
        os.replace(temporary, self.path / name)
        self._trim()

    def messages(self, limit: int = 50) -> list[KeptMessage]:
        """The newest messages first."""
        if not self.path.is_dir():
            return []
        kept = []
        for file in sorted(self.path.glob("*.json"), reverse=True)[:limit]:
            try:
                raw = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            kept.append(KeptMessage(datetime.fromisoformat(raw["sent_at"]), raw.get("channel", ""), raw.get("address", ""),
                                    raw.get("subject", ""), raw.get("body", ""), raw.get("kind", "")))
        return kept

    def _trim(self) -> None:
        for old in sorted(self.path.glob("*.json"), reverse=True)[KEEP:]:
            old.unlink(missing_ok=True)
