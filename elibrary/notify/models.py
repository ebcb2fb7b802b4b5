"""The outbox: messages written in the business transaction, delivered after it commits."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from elibrary.db import Base, UTCDateTime, utcnow


class OutboxMessage(Base):
    """A message waiting for delivery. Address and body are encrypted (they may hold personal data)."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(40))
    address_enc: Mapped[bytes] = mapped_column(LargeBinary)
    subject_enc: Mapped[bytes] = mapped_column(LargeBinary)
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    deliver_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Rows sent together as one request (a LINE multicast) share this key until delivered: a retry sends the
    # same recipients with the same retry key, so LINE answers 409 instead of delivering twice.
    batch_key: Mapped[str | None] = mapped_column(String(36))
