"""EPUB metadata as import records, and hostile archives refused before anything is read or stored."""
from __future__ import annotations

import struct
import zipfile

import pytest

from catalog_import.epub import epub_paths, parse_epub
from catalog_import.records import ImportRecord, Problem
from elibrary.books.packing import pack_epub_directory
from elibrary.catalog.credits import ContributorCredit
from tests.conftest import EXTERNAL
from tests.readers.factories import manga_epub

SAMPLES = EXTERNAL / "epub3-samples"
CONTAINER = ('<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container" version="1.0"><rootfiles>'
             '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>')
OPF = ('<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
       '<dc:identifier id="uid">urn:isbn:9784090000041</dc:identifier><dc:title>小さな本</dc:title><dc:language>ja</dc:language>'
       '</metadata><manifest><item id="c" href="c.xhtml" media-type="application/xhtml+xml"/></manifest><spine><itemref idref="c"/></spine></package>')


def sample_epub(tmp_path, name: str):
    path = tmp_path / f"{name}.epub"
    path.write_bytes(pack_epub_directory(SAMPLES / name))
    return path


def handmade(tmp_path, entries: dict[str, bytes | str], name="book.epub"):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        for entry, data in entries.items():
            archive.writestr(zipfile.ZipInfo(entry), data)
    return path


def valid_entries(**extra) -> dict:
    return {"mimetype": "application/epub+zip", "META-INF/container.xml": CONTAINER, "OEBPS/content.opf": OPF,
            "OEBPS/c.xhtml": "<html xmlns='http://www.w3.org/1999/xhtml'><body><p>x</p></body></html>", **extra}


def test_vertical_japanese_book_with_readings_and_rtl(tmp_path):
    (record,) = list(parse_epub(sample_epub(tmp_path, "kusamakura-japanese-vertical-writing")))
    assert isinstance(record, ImportRecord) and record.source == "epub"
    assert (record.title, record.title_reading) == ("草枕", "クサマクラ")  # file-as refinement, in katakana
    assert record.contributors[0] == ContributorCredit("夏目 漱石", "ナツメ ソウセキ", "aut")
    assert record.page_progression == "rtl" and record.layout == "reflowable" and record.format == "epub-reflowable"
    assert record.file_path.endswith(".epub")


def test_fixed_layout_manga_and_a_cover_image(tmp_path):
    (tmp_path / "manga.epub").write_bytes(manga_epub())
    (manga,) = list(parse_epub(tmp_path / "manga.epub"))
    assert manga.format == "epub-fixed" and manga.layout == "pre-paginated" and manga.page_progression == "rtl"
    (book,) = list(parse_epub(sample_epub(tmp_path, "childrens-literature")))
    assert book.cover_image[:8] == b"\x89PNG\r\n\x1a\n" and book.cover_media_type == "image/png"


def test_isbn_from_the_identifier_and_folders_expanded(tmp_path):
    folder = tmp_path / "books"
    folder.mkdir()
    handmade(folder, valid_entries(), "a.epub")
    (folder / "notes.txt").write_text("not a book")
    paths = epub_paths([str(folder)])
    assert [p.name for p in paths] == ["a.epub"]
    (record,) = list(parse_epub(paths[0]))
    assert record.isbn == "9784090000041" and record.title == "小さな本" and record.source_record_id == "urn:isbn:9784090000041"


def two_gigabyte_claim(tmp_path):
    """A 1 KB zip whose directory says one entry unpacks to 2 GB."""
    path = handmade(tmp_path, valid_entries(**{"OEBPS/big.xhtml": b"x" * 100}), "bomb.epub")
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02", 0, data.index(b"PK\x05\x06"))
    while not data[central + 46:central + 46 + 16].startswith(b"OEBPS/big.xhtml"):
        central = data.rfind(b"PK\x01\x02", 0, central)
    struct.pack_into("<I", data, central + 24, 2 * 1024 ** 3 - 1)
    path.write_bytes(bytes(data))
    assert path.stat().st_size < 2048
    return path


@pytest.mark.parametrize("make, reason", [
    (lambda tmp: two_gigabyte_claim(tmp), "absurd size"),
    (lambda tmp: handmade(tmp, valid_entries(**{"../escape.txt": "x"})), "unsafe file name"),
    (lambda tmp: handmade(tmp, valid_entries(**{"/etc/evil": "x"})), "unsafe file name"),
    (lambda tmp: handmade(tmp, {k: v for k, v in valid_entries().items() if k != "mimetype"}), "mimetype"),
    (lambda tmp: handmade(tmp, {k: v for k, v in valid_entries().items() if k != "META-INF/container.xml"}), "container.xml"),
    (lambda tmp: (tmp / "x.epub").write_bytes(b"not a zip at all") and tmp / "x.epub", "broken"),
], ids=["2gb-claim", "dot-dot", "absolute", "no-mimetype", "no-container", "not-a-zip"])
def test_hostile_archives_are_problems_not_crashes(tmp_path, make, reason):
    (problem,) = list(parse_epub(make(tmp_path)))
    assert isinstance(problem, Problem) and reason in problem.reason_en and problem.field == "file"
