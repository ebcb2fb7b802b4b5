"""A distributor's licence report as imported for a stocktake, and the fixes made from it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from elibrary.db import Base, UTCDateTime, utcnow


class LicenseAudit(Base):
    """One stocktake (蔵書点検): the report's entries and problems, and the log of fixes (JSON text)."""

    __tablename__ = "license_audits"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(Integer)  # staff id
    file_name: Mapped[str] = mapped_column(String(200), default="")
    entries: Mapped[str] = mapped_column(Text, default="[]")  # [ReportEntry.to_json(), ...]
    problems: Mapped[str] = mapped_column(Text, default="[]")  # [[line, reason_ja, reason_en], ...]
    fixes: Mapped[str] = mapped_column(Text, default="[]")  # [{"at", "by", "isbn", "kind", "before", "after"}, ...]
