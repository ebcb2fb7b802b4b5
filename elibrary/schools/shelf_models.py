"""The class shelf (クラスの本棚): titles a teacher puts before a class — a class set for reading together
(一斉読書) or assigned reading with a due date (課題図書)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from elibrary.db import Base, UTCDateTime, utcnow

SHELF_KINDS = {"class_set": ("一斉読書", "Class set"), "assigned": ("課題図書", "Assigned reading")}


class ClassShelfItem(Base):
    """One title on one class's shelf from ``starts_on`` to ``ends_on`` (the due date of assigned reading)."""

    __tablename__ = "class_shelf_items"
    __table_args__ = (UniqueConstraint("class_id", "title_id", "kind", name="uq_class_shelf_items_class_title_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("school_classes.id", ondelete="CASCADE"), index=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))  # a key of SHELF_KINDS
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
