"""E-mail delivery through an SMTP server (``ELIBRARY_NOTIFIER = "smtp"``, ``ELIBRARY_SMTP_*``)."""
from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from elibrary.notify.base import DeliveryFailed, Message


class SMTPNotifier:
    """Sends ``email`` messages as UTF-8 plain text; other channels are refused (left in the outbox)."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        user: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.user, self.password, self.starttls, self.timeout = user, password, starttls, timeout

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "SMTPNotifier":
        """From ``ELIBRARY_SMTP_HOST``, ``_PORT``, ``_FROM`` (and optional ``_USER``, ``_PASSWORD``, ``_STARTTLS``)."""
        return cls(
            settings.get("ELIBRARY_SMTP_HOST") or "localhost",
            int(settings.get("ELIBRARY_SMTP_PORT") or 25),
            settings.get("ELIBRARY_SMTP_FROM") or "elibrary@localhost",
            user=settings.get("ELIBRARY_SMTP_USER") or None,
            password=settings.get("ELIBRARY_SMTP_PASSWORD") or None,
            starttls=bool(settings.get("ELIBRARY_SMTP_STARTTLS")),
        )

    def build(self, message: Message) -> EmailMessage:
        """The MIME message for ``message``."""
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.address
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(message.body, charset="utf-8")
        return mail

    def send(self, message: Message) -> None:
        """Deliver one message or raise ``DeliveryFailed`` (the outbox retries later)."""
        if message.channel != "email":
            raise DeliveryFailed(f"the SMTP notifier cannot send {message.channel!r} messages")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(self.build(message))
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"SMTP delivery failed: {exc.__class__.__name__}") from None
