"""An announcement (お知らせ) written by staff, shown on the home page and/or sent by LINE."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from elibrary.db import Base, UTCDateTime, utcnow

AUDIENCES = ("all", "category", "patron")  # all linked patrons, one patron category, one patron
STATUSES = ("draft", "pending", "approved", "sent")


class Announcement(Base):
    """What staff want to tell patrons; a message to more than one patron needs an admin's approval."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(String(20), default="all")
    audience_value: Mapped[str] = mapped_column(String(80), default="")  # the category, or the patron's id
    show_on_site: Mapped[bool] = mapped_column(Boolean, default=True)
    send_line: Mapped[bool] = mapped_column(Boolean, default=False)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # on the home page from ...
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # ... until (None: no end)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    created_by: Mapped[int | None] = mapped_column(Integer)  # staff id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by: Mapped[int | None] = mapped_column(Integer)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
