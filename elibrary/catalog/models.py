"""The bibliographic record of a Japanese library (書誌), its files, covers and curated shelves."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from elibrary.db import Base, UTCDateTime, utcnow


class Audience(str, enum.Enum):
    """Intended readers: 児童 (children), YA, 一般 (general)."""

    children = "children"
    ya = "ya"
    general = "general"


class BookFormat(str, enum.Enum):
    """How the book is delivered and read."""

    epub_reflowable = "epub-reflowable"
    epub_fixed = "epub-fixed"
    pdf = "pdf"
    audio = "audio"


class TitleStatus(str, enum.Enum):
    """Whether the title is shown to patrons."""

    active = "active"
    withdrawn = "withdrawn"  # 除籍: hidden from the OPAC, kept for statistics and loans in flight


# Contributor roles as MARC relator codes with their Japanese labels (著, 訳, 絵, 編, ...).
ROLE_LABELS = {
    "aut": ("著", "Author"),
    "trl": ("訳", "Translator"),
    "ill": ("絵", "Illustrator"),
    "edt": ("編", "Editor"),
    "sup": ("監修", "Supervisor"),
    "pht": ("写真", "Photographer"),
    "nrt": ("朗読", "Narrator"),
    "ctb": ("ほか", "Contributor"),
}


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as plain strings (values), portable between SQLite and PostgreSQL without native enums.
    return Enum(cls, name=name, native_enum=False, values_callable=lambda e: [m.value for m in e], length=32)


class Title(Base):
    """One book as the library catalogues it (a 書誌 record)."""

    __tablename__ = "titles"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    title_reading: Mapped[str] = mapped_column(String(500), default="")  # ヨミ, katakana
    subtitle: Mapped[str] = mapped_column(String(500), default="")
    series_title: Mapped[str] = mapped_column(String(500), default="", index=True)
    series_reading: Mapped[str] = mapped_column(String(500), default="")
    volume: Mapped[str] = mapped_column(String(50), default="")
    publisher: Mapped[str] = mapped_column(String(300), default="")
    published_on: Mapped[date | None] = mapped_column(Date)
    isbn: Mapped[str | None] = mapped_column(String(13), unique=True)  # ISBN-13, digits only
    ndc: Mapped[str] = mapped_column(String(20), default="")  # 日本十進分類法, e.g. "913.6"
    language: Mapped[str] = mapped_column(String(35), default="ja")  # BCP 47
    audience: Mapped[Audience] = mapped_column(_enum(Audience, "audience"), default=Audience.general)
    age_min: Mapped[int | None] = mapped_column(Integer)
    age_max: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")  # plain text, never HTML
    format: Mapped[BookFormat] = mapped_column(_enum(BookFormat, "book_format"), default=BookFormat.epub_reflowable)
    page_count: Mapped[int | None] = mapped_column(Integer)
    page_progression: Mapped[str] = mapped_column(String(8), default="ltr")  # "ltr" or "rtl"
    # schema.org accessibilityFeature values, e.g. ["readAloud", "ruby", "largePrint"]
    accessibility: Mapped[list] = mapped_column(JSON, default=list)
    cover_key: Mapped[str | None] = mapped_column(String(200))  # storage key of the original cover
    status: Mapped[TitleStatus] = mapped_column(_enum(TitleStatus, "title_status"), default=TitleStatus.active, index=True)
    # Where the record came from, for idempotent re-imports (matched by ISBN, then by these).
    source: Mapped[str] = mapped_column(String(40), default="manual")
    source_record_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    contributors: Mapped[list["TitleContributor"]] = relationship(
        back_populates="title", cascade="all, delete-orphan", order_by="TitleContributor.position"
    )
    subjects: Mapped[list["Subject"]] = relationship(
        back_populates="title", cascade="all, delete-orphan", order_by="Subject.id"
    )
    files: Mapped[list["BookFile"]] = relationship(back_populates="title", cascade="all, delete-orphan")
    collections: Mapped[list["Collection"]] = relationship(secondary="title_collections", back_populates="titles")

    __table_args__ = (UniqueConstraint("source", "source_record_id", name="uq_titles_source_record"),)

    @property
    def search_title_id(self) -> int:
        """The title whose search document this row belongs to (see ``catalog.indexing``)."""
        return self.id

    @property
    def is_active(self) -> bool:
        """Shown to patrons."""
        return self.status == TitleStatus.active

    def __repr__(self) -> str:
        return f"<Title {self.id} {self.title!r}>"


class Contributor(Base):
    """A person or body credited on titles (著者), with the reading of the name."""

    __tablename__ = "contributors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    name_reading: Mapped[str] = mapped_column(String(300), default="")  # katakana

    __table_args__ = (UniqueConstraint("name", "name_reading", name="uq_contributors_name_reading"),)


class TitleContributor(Base):
    """A contributor's role on one title (著, 訳, 絵 ...), in credit order."""

    __tablename__ = "title_contributors"

    id: Mapped[int] = mapped_column(primary_key=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), index=True)
    contributor_id: Mapped[int] = mapped_column(ForeignKey("contributors.id"), index=True)
    role: Mapped[str] = mapped_column(String(8), default="aut")  # MARC relator code, see ROLE_LABELS
    position: Mapped[int] = mapped_column(Integer, default=0)

    title: Mapped[Title] = relationship(back_populates="contributors")
    contributor: Mapped[Contributor] = relationship(lazy="joined")

    @property
    def search_title_id(self) -> int:
        return self.title_id

    @property
    def role_label(self) -> str:
        """Japanese role label, e.g. 著."""
        return ROLE_LABELS.get(self.role, (self.role, self.role))[0]


class Subject(Base):
    """A subject heading (件名) or keyword of a title; ``scheme`` says which vocabulary."""

    __tablename__ = "subjects"

    id: Mapped[int] = mapped_column(primary_key=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), index=True)
    scheme: Mapped[str] = mapped_column(String(20), default="keyword")  # ndlsh, bsh, keyword, ccode
    term: Mapped[str] = mapped_column(String(300))
    reading: Mapped[str] = mapped_column(String(300), default="")

    title: Mapped[Title] = relationship(back_populates="subjects")

    @property
    def search_title_id(self) -> int:
        return self.title_id


class BookFile(Base):
    """A stored file of a title (EPUB or PDF), kept under ``books/{title_id}/{sha256}.{ext}``."""

    __tablename__ = "book_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), index=True)
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(100))  # application/epub+zip, application/pdf
    layout: Mapped[str] = mapped_column(String(20), default="reflowable")  # or "pre-paginated"
    page_progression: Mapped[str] = mapped_column(String(8), default="ltr")
    check_report: Mapped[list] = mapped_column(JSON, default=list)  # EPUBCheck findings, if run
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    title: Mapped[Title] = relationship(back_populates="files")

    touches_book_text = True  # logged for the book-text index (本文検索) whatever the catalog index is

    @property
    def search_title_id(self) -> int:
        """Attaching or replacing a file changes the title's text in the book-text index."""
        return self.title_id


class Collection(Base):
    """A collection titles belong to (children's, school, local history ...), used by lending policy."""

    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")

    titles: Mapped[list[Title]] = relationship(secondary="title_collections", back_populates="collections")


class TitleCollection(Base):
    """Membership of a title in a collection."""

    __tablename__ = "title_collections"

    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True)


class Shelf(Base):
    """A shelf staff curate for the OPAC home and OPDS (特集), in display order."""

    __tablename__ = "shelves"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    audience: Mapped[str] = mapped_column(String(20), default="")  # "children" puts it in the children's corner
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)

    items: Mapped[list["ShelfItem"]] = relationship(
        back_populates="shelf", cascade="all, delete-orphan", order_by="ShelfItem.position"
    )


class ShelfItem(Base):
    """A title on a curated shelf."""

    __tablename__ = "shelf_items"

    shelf_id: Mapped[int] = mapped_column(ForeignKey("shelves.id", ondelete="CASCADE"), primary_key=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    shelf: Mapped[Shelf] = relationship(back_populates="items")
    title: Mapped[Title] = relationship()


class SearchQueueEntry(Base):
    """An entry of the search change log: a title whose search document must be rewritten, written in the
    same transaction as the change; every index follows the log from its own position (``catalog.indexing``)."""

    __tablename__ = "search_queue"

    id: Mapped[int] = mapped_column(primary_key=True)
    title_id: Mapped[int] = mapped_column(Integer, index=True)  # no FK: deleted titles must be removed too
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
