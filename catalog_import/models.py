"""What an import remembers of each record it wrote: a fingerprint for idempotent re-imports, a hash of
the source's bytes for the re-import fast path, and the source's data the catalog has no column for
(cover URL, prices, availability).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from elibrary.catalog.models import Title
from elibrary.db import Base, UTCDateTime, utcnow


class ImportedRecord(Base):
    """The last record a source (onix, marc, csv, epub) gave for a title (取込記録)."""

    __tablename__ = "imported_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(40))
    source_record_id: Mapped[str | None] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the record as parsed
    # blake2b-128 of the source's bytes (ONIX: the <Product>) and the mapping version; migration 0008_import_hash
    source_hash: Mapped[str | None] = mapped_column(String(32))
    cover_url: Mapped[str] = mapped_column(String(1000), default="")
    # {"prices": [{"amount", "currency", "price_type"}], "availability": "20"} from ONIX supply detail
    supply: Mapped[dict] = mapped_column(JSON, default=dict)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    title: Mapped[Title] = relationship()

    __table_args__ = (
        UniqueConstraint("title_id", "source", name="uq_imported_records_title_source"),
        # Records are matched by source and record id batch by batch (migration 0008_import_hash).
        Index("ix_imported_records_source_record", "source", "source_record_id"),
    )
