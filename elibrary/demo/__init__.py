"""Demo content for ``elibrary init --demo``: titles with covers and real book files, shelves, patrons.

Everything is generated here (texts written for elibrary, pictures drawn with Pillow, PDFs made with
reportlab); nothing is copied. Loading is idempotent: titles are matched by ``source="demo"`` and their
key, so a second run adds nothing and leaves staff edits alone.

Lending adds its demo licences (``elibrary.lending.demo.add_demo_licenses``) to the titles added in this run.
"""
from __future__ import annotations

import functools
import io
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.catalog.covers import set_cover
from elibrary.catalog.files import EPUB, PDF, attach_book_file
from elibrary.catalog.models import BookFile, BookFormat, Shelf, Title
from elibrary.catalog.services import create_title, ensure_collection
from elibrary.catalog.shelves import add_to_shelf, create_shelf
from elibrary.demo.catalog import COLLECTIONS, PATRONS, SHELVES, SOURCE, TITLES, DemoTitle
from elibrary.lending.demo import add_demo_licenses
from elibrary.patrons.services import add_local_patron, find_by_card


@functools.cache
def book_file(key: str) -> tuple[bytes, str]:
    """The generated book file of the demo title ``key`` and its media type (cached per process)."""
    from elibrary.demo import books, pdfs

    entry = _entry(key)
    if entry.book in books.BUILDERS:
        return books.BUILDERS[entry.book](entry), EPUB
    if entry.book in pdfs.BUILDERS:
        return pdfs.BUILDERS[entry.book](entry), PDF
    # Every other demo title gets a short generated sample, so that nothing a newcomer borrows is unreadable.
    if entry.data.format in (BookFormat.pdf, "pdf"):
        return pdfs.sample_pdf(entry), PDF
    if entry.data.format in (BookFormat.epub_fixed, "epub-fixed"):
        return books.sample_picture_book(entry), EPUB
    return books.sample_book(entry), EPUB


@functools.cache
def cover_image(key: str) -> bytes:
    """The generated cover of the demo title ``key`` (cached per process)."""
    from elibrary.demo import covers, drawing, picture_book

    entry = _entry(key)
    if entry.book == "picture_book":
        return drawing.jpeg(picture_book.draw_cover().resize((600, 840)))
    return covers.draw_cover(entry)


def _entry(key: str) -> DemoTitle:
    return next(entry for entry in TITLES if entry.key == key)


def load_demo(session: Session, runtime, echo: Callable[[str], None] = print) -> int:
    """Add the demo collection (titles, files, covers, shelves, patrons); returns how many titles were added."""
    for code, name, name_en in COLLECTIONS:
        ensure_collection(session, code, name, name_en)
    existing = {t.source_record_id: t for t in session.scalars(select(Title).where(Title.source == SOURCE))}
    added: list[tuple[DemoTitle, Title]] = []
    for n, entry in enumerate(TITLES, 1):
        if entry.key in existing:
            _give_missing_file(session, runtime, existing[entry.key], entry)
            continue
        title = create_title(session, entry.data)
        set_cover(session, runtime.storage, title, io.BytesIO(cover_image(entry.key)))
        data, media_type = book_file(entry.key)
        attach_book_file(session, runtime.storage, title, io.BytesIO(data), media_type)
        added.append((entry, title))
        echo(f"demo: [{n}/{len(TITLES)}] {entry.data.title} (+ book file)")
    _fill_shelves(session, added)
    _add_patrons(session, runtime, echo)
    titles = [title for _, title in added]
    if titles:
        add_demo_licenses(session, titles)
    return len(added)


def _give_missing_file(session: Session, runtime, title: Title, entry: DemoTitle) -> None:
    """A demo title loaded before every title had a file gets its generated sample now."""
    if session.scalar(select(BookFile.id).where(BookFile.title_id == title.id).limit(1)) is None:
        data, media_type = book_file(entry.key)
        attach_book_file(session, runtime.storage, title, io.BytesIO(data), media_type)


def _fill_shelves(session: Session, added: list[tuple[DemoTitle, Title]]) -> None:
    shelves = {s.slug: s for s in session.scalars(select(Shelf).where(Shelf.slug.in_([d.slug for d in SHELVES])))}
    for demo_shelf in SHELVES:
        if demo_shelf.slug not in shelves:
            shelves[demo_shelf.slug] = create_shelf(
                session, demo_shelf.slug, demo_shelf.name, name_en=demo_shelf.name_en,
                description=demo_shelf.description, audience=demo_shelf.audience,
            )
    for entry, title in added:  # only new titles: a title staff took off a shelf stays off
        for slug in entry.shelves:
            add_to_shelf(session, shelves[slug], title)


def _add_patrons(session: Session, runtime, echo: Callable[[str], None]) -> None:
    for patron in PATRONS:
        if find_by_card(session, runtime.cipher, patron.card) is None:
            add_local_patron(session, runtime.cipher, patron.card, patron.pin, category=patron.category, name=patron.name)
        echo(f"demo patron ({patron.category}): card {patron.card}  PIN {patron.pin}")
