import hashlib
import io

import pytest
from sqlalchemy import select

from elibrary.catalog.files import EPUB, PDF, InvalidBookFile, attach_book_file, open_book_file, remove_book_file
from elibrary.catalog.models import BookFile, BookFormat
from elibrary.errors import InvalidInput
from elibrary.storage.memory import MemoryStorage
from tests.catalog.factories import make_title

EPUB_BYTES = b"PK\x03\x04" + b"\x00" * 26 + b"mimetypeapplication/epub+zip" + b"rest of the zip" * 100
PDF_BYTES = b"%PDF-1.7\n" + b"x" * 3000 + b"\n%%EOF\n"


class CountingStream(io.BytesIO):
    """Records how much is read per call, to prove the upload is streamed, not slurped."""

    def __init__(self, data):
        super().__init__(data)
        self.reads = []

    def read(self, size=-1):
        chunk = super().read(size)
        self.reads.append(size)
        return chunk


@pytest.fixture
def storage():
    return MemoryStorage()


def test_attach_stores_under_hash_key(db_session, storage):
    title = make_title(db_session)
    stream = CountingStream(EPUB_BYTES)
    book = attach_book_file(db_session, storage, title, stream, EPUB)
    sha = hashlib.sha256(EPUB_BYTES).hexdigest()
    assert book.storage_key == f"books/{title.id}/{sha}.epub"
    assert (book.sha256, book.size, book.media_type) == (sha, len(EPUB_BYTES), EPUB)
    assert (book.layout, book.page_progression) == ("reflowable", "ltr")
    assert all(size > 0 for size in stream.reads)  # bounded chunks, never read()-everything
    with open_book_file(storage, book) as stored:
        assert stored.read() == EPUB_BYTES
    assert title.files == [book]


def test_identical_upload_is_deduplicated(db_session, storage):
    title = make_title(db_session)
    first = attach_book_file(db_session, storage, title, io.BytesIO(PDF_BYTES), PDF)
    again = attach_book_file(db_session, storage, title, io.BytesIO(PDF_BYTES), PDF)
    assert again is first
    assert list(storage.keys("books/")) == [first.storage_key]
    assert len(db_session.scalars(select(BookFile)).all()) == 1
    assert first.layout == "pre-paginated"


def test_fixed_layout_title_defaults(db_session, storage):
    title = make_title(db_session, format=BookFormat.epub_fixed, page_progression="rtl")
    book = attach_book_file(db_session, storage, title, io.BytesIO(EPUB_BYTES), EPUB)
    assert (book.layout, book.page_progression) == ("pre-paginated", "rtl")


@pytest.mark.parametrize(
    ("data", "media_type", "words"),
    [
        (PDF_BYTES, EPUB, "EPUBファイルではありません"),
        (EPUB_BYTES, PDF, "PDFファイルではありません"),
        (b"", EPUB, "EPUBファイルではありません"),
        (EPUB_BYTES, "text/html", "EPUBまたはPDF"),
        (b"%PDF-" + b"0" * 20000, PDF, "上限 10 KB"),
    ],
)
def test_bad_files_store_nothing(db_session, storage, data, media_type, words):
    title = make_title(db_session)
    with pytest.raises(InvalidBookFile) as info:
        attach_book_file(db_session, storage, title, io.BytesIO(data), media_type, max_bytes=10 * 1024)
    assert words in info.value.message_ja
    assert list(storage.keys()) == []
    assert db_session.scalars(select(BookFile)).all() == []


def test_bad_layout_refused(db_session, storage):
    title = make_title(db_session)
    with pytest.raises(InvalidInput):
        attach_book_file(db_session, storage, title, io.BytesIO(EPUB_BYTES), EPUB, layout="scroll")
    with pytest.raises(InvalidInput):
        attach_book_file(db_session, storage, title, io.BytesIO(EPUB_BYTES), EPUB, page_progression="ttb")
    assert list(storage.keys()) == []


def test_local_storage_and_removal(db_session, rt):
    title = make_title(db_session)
    book = attach_book_file(db_session, rt.storage, title, io.BytesIO(PDF_BYTES), PDF, check_report=[{"severity": "info"}])
    assert rt.storage.size(book.storage_key) == len(PDF_BYTES)
    remove_book_file(db_session, book)
    assert db_session.scalars(select(BookFile)).all() == []
    assert rt.storage.exists(book.storage_key)  # kept until a sweep: a reader may have it open
