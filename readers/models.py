"""Where a patron stopped reading (しおり), per loan, so another device can pick up from there."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from elibrary.db import Base, UTCDateTime, utcnow


class ReadingPosition(Base):
    """The last location and the bookmarks of one patron in one title.

    Tied to the loan it was saved under: when that loan ends the row is deleted, unless the patron
    keeps a reading history (then it stays, detached, for the next loan). Open titles have no loan.
    """

    __tablename__ = "reading_positions"

    id: Mapped[int] = mapped_column(primary_key=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"), index=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), index=True)
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id", ondelete="SET NULL"), index=True)
    location: Mapped[str] = mapped_column(String(1000), default="")  # an EPUB CFI, or "page:N" for PDF
    fraction: Mapped[float] = mapped_column(Float, default=0.0)  # 0..1, for the progress bar
    bookmarks: Mapped[list] = mapped_column(JSON, default=list)  # [{"location", "label", "fraction"}]
    revision: Mapped[int] = mapped_column(Integer, default=0)  # bumped on each save (last writer wins)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("patron_id", "title_id", name="uq_reading_positions_patron_title"),)
