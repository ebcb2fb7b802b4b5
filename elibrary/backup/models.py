"""The record of scheduled backups and restore drills (listed on the admin page, read by the health detail)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from elibrary.db import Base, UTCDateTime, utcnow

KINDS = ("backup", "drill")


class BackupRun(Base):
    """One scheduled backup or restore drill: when, what it wrote, and whether it worked."""

    __tablename__ = "backup_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="backup", index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ok: Mapped[bool | None] = mapped_column(Boolean)  # None: still running (or the process died)
    file_name: Mapped[str] = mapped_column(String(200), default="")  # the archive's name in the backup folder
    size: Mapped[int] = mapped_column(BigInteger, default=0)  # bytes of the archive
    files: Mapped[int] = mapped_column(Integer, default=0)  # book files it covers
    new_files: Mapped[int] = mapped_column(Integer, default=0)  # ... of which stored for the first time
    new_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    removed: Mapped[int] = mapped_column(Integer, default=0)  # archives deleted by retention after it
    message: Mapped[str] = mapped_column(String(500), default="")  # one line: the result or the reason it failed
