"""Access-log entries. Each entry's hash covers its content and the previous entry's hash, so any
change, deletion or insertion in the middle breaks the chain (``elibrary audit verify``)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from elibrary.db import Base, UTCDateTime, utcnow


class AccessLogEntry(Base):
    """Who (staff), when, from where, which patron or registration, which fields, what action.

    No personal data of the patron is stored here: the patron is named by id (card searches go through
    the patrons' keyed hash), fields by name. Rows are never updated or deleted (triggers refuse it).
    """

    __tablename__ = "audit_access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    staff_id: Mapped[int | None] = mapped_column(Integer, index=True)
    staff_email: Mapped[str] = mapped_column(String(254), index=True)
    address: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(20))  # view, search, export, change, erase
    subject: Mapped[str] = mapped_column(String(60), default="")  # e.g. "registration:12", "audit-log"
    patron_id: Mapped[int | None] = mapped_column(Integer, index=True)
    fields: Mapped[str] = mapped_column(String(300), default="")  # comma-separated field names
    detail: Mapped[str] = mapped_column(String(300), default="")  # never personal data
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)  # one successor per entry: a chain, not a tree
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)
