"""Loading the demo into a test app: counts, idempotency, readings, stored files, covers, shelves, patrons."""
import hashlib
import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from elibrary.catalog.covers import inspect_cover
from elibrary.catalog.isbn import is_valid_isbn
from elibrary.catalog.models import Audience, BookFile, BookFormat, Collection, Contributor, Shelf, ShelfItem, Title
from elibrary.catalog.readings import normalize_reading
from elibrary.catalog.shelves import public_shelves, shelf_titles
from elibrary.demo import load_demo
from elibrary.demo.catalog import PATRONS, TITLES
from elibrary.patrons.models import Patron
from elibrary.search.base import SearchQuery


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def loaded(rt):
    messages = []
    with rt.db.scope() as session:
        added = load_demo(session, rt, echo=messages.append)
    return added, messages


def test_demo_collection_shows_the_product_off(rt, loaded):
    added, messages = loaded
    assert added == len(TITLES) >= 30
    with rt.db.scope(write=False) as s:
        titles = s.scalars(select(Title)).all()
        assert len(titles) == added
        assert {t.audience for t in titles} == set(Audience)
        assert {BookFormat.epub_reflowable, BookFormat.epub_fixed, BookFormat.pdf} <= {t.format for t in titles}
        assert {t.language for t in titles} == {"ja", "en"}
        for title in titles:
            assert title.title_reading and normalize_reading(title.title_reading) == title.title_reading
            assert title.isbn and is_valid_isbn(title.isbn) and title.isbn.startswith("97849999")
            assert title.publisher and title.description and title.ndc and title.subjects and title.contributors
            assert title.cover_key and title.cover_key.startswith(f"covers/{title.id}/")
        for contributor in s.scalars(select(Contributor)):
            assert contributor.name_reading, contributor.name
        series = [t for t in titles if t.series_title == "月夜の郵便局"]
        assert sorted(t.volume for t in series) == ["1", "2", "3"]
        collections = {c.code: c for c in s.scalars(select(Collection))}
        assert {"children", "school"} <= set(collections)
        assert all(t.audience == Audience.children for t in collections["children"].titles)
        assert len(collections["school"].titles) >= 5
        shelves = public_shelves(s)
        assert [sh.name for sh in shelves][:2] == ["今月の特集", "こどものへや"]
        corner = public_shelves(s, audience="children")
        assert [sh.slug for sh in corner] == ["kids"]
        assert all(t.audience == Audience.children for t in shelf_titles(corner[0])) and len(shelf_titles(corner[0])) >= 5
        assert count(s, Patron) == len(PATRONS)
    assert any("10000001" in m and "1234" in m for m in messages)
    for patron in PATRONS:  # the demo credentials really sign in
        account = rt.ils.authenticate(patron.card, patron.pin)
        assert account.category == patron.category


def test_every_book_file_is_stored_through_the_storage_interface(rt, loaded):
    with rt.db.scope(write=False) as s:
        files = s.scalars(select(BookFile)).all()
        assert {f.media_type for f in files} == {"application/epub+zip", "application/pdf"}
        assert len(files) == len(TITLES)  # every demo title can be read: seven written books, generated samples for the rest
        for book in files:
            with rt.storage.open(book.storage_key) as stream:
                data = stream.read()
            assert hashlib.sha256(data).hexdigest() == book.sha256 and len(data) == book.size
            assert book.storage_key == f"books/{book.title_id}/{book.sha256}.{'epub' if book.media_type.endswith('zip') else 'pdf'}"
        assert sorted(rt.storage.keys("books/")) == sorted(f.storage_key for f in files)
        by_key = {t.source_record_id: t for t in s.scalars(select(Title))}
        fixed = by_key["kuma-kasa"].files[0]
        assert (fixed.layout, fixed.page_progression) == ("pre-paginated", "rtl")
        vertical = by_key["moon-post-1"].files[0]
        assert (vertical.layout, vertical.page_progression) == ("reflowable", "rtl")


def test_covers_are_distinct_valid_images(rt, loaded):
    with rt.db.scope(write=False) as s:
        keys = [t.cover_key for t in s.scalars(select(Title))]
    assert len(set(keys)) == len(keys)
    for key in keys:
        with rt.storage.open(key) as stream:
            data = stream.read()
        assert inspect_cover(data) == "JPEG"
        with Image.open(io.BytesIO(data)) as image:
            assert image.width >= 600 and image.height > image.width


def test_loading_again_adds_nothing(rt, loaded):
    with rt.db.scope(write=False) as s:
        before = [count(s, m) for m in (Title, BookFile, Contributor, Shelf, ShelfItem, Patron, Collection)]
    keys_before = list(rt.storage.keys())
    with rt.db.scope() as session:
        assert load_demo(session, rt, echo=lambda _m: None) == 0
    with rt.db.scope(write=False) as s:
        assert [count(s, m) for m in (Title, BookFile, Contributor, Shelf, ShelfItem, Patron, Collection)] == before
    assert list(rt.storage.keys()) == keys_before


def test_a_shelf_edit_by_staff_survives_a_reload(rt, loaded):
    with rt.db.scope() as s:
        kids = s.scalar(select(Shelf).where(Shelf.slug == "kids"))
        kids.items.pop(0)
        kept = len(kids.items)
    with rt.db.scope() as s:
        load_demo(s, rt, echo=lambda _m: None)
    with rt.db.scope(write=False) as s:
        assert len(s.scalar(select(Shelf).where(Shelf.slug == "kids")).items) == kept


def test_lending_hook_gets_the_new_titles(rt, monkeypatch):
    import elibrary.demo

    received = []
    # the demo imports lending's demo licences directly (no importlib lookup with two spellings)
    monkeypatch.setattr(elibrary.demo, "add_demo_licenses", lambda session, titles: received.extend(t.id for t in titles))
    with rt.db.scope() as session:
        added = load_demo(session, rt, echo=lambda _m: None)
    assert len(received) == added
    with rt.db.scope() as session:
        load_demo(session, rt, echo=lambda _m: None)
    assert len(received) == added  # nothing new, no second call


def test_init_demo_command(runner, rt):
    result = runner.invoke(args=["init", "--demo"])
    assert result.exit_code == 0, result.output
    assert f"{len(TITLES)} titles added" in result.output
    assert "card 20000001  PIN 1234" in result.output
    again = runner.invoke(args=["init", "--demo"])
    assert again.exit_code == 0 and "already loaded" in again.output
    with rt.db.scope(write=False) as s:
        assert count(s, Title) == len(TITLES)
    # the index was fed after the commit: a reading in hiragana finds the kanji title
    result = rt.search.search(SearchQuery(text="ゆうびんきょく"))
    with rt.db.scope(write=False) as s:
        found = {s.get(Title, i).title for i in result.ids}
    assert "月夜の郵便局" in found
