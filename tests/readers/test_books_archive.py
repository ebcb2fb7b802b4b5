"""The safe EPUB zip: real samples open; hostile archives are refused with the right error."""
from __future__ import annotations

import io
import zipfile

import pytest

from elibrary.books import (
    ArchiveLimits,
    BrokenContainer,
    EntryNotFound,
    EntryTooLarge,
    MissingContainer,
    MissingMimetype,
    TooManyEntries,
    UnsafeEntryName,
    UnsupportedEncryption,
    ZipBombSuspected,
    open_epub,
)
from elibrary.books.archive import resolve_href
from elibrary.books.packing import pack_epub_directory
from tests.conftest import EXTERNAL

SAMPLES = EXTERNAL / "epub3-samples"
CONTAINER = (b'<?xml version="1.0"?><container xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
             b'version="1.0"><rootfiles><rootfile full-path="OPS/p.opf" '
             b'media-type="application/oebps-package+xml"/></rootfiles></container>')


def build_zip(entries: list[tuple[str, bytes]], *, mimetype: bool = True, container: bool = True,
              compression: int = zipfile.ZIP_DEFLATED) -> io.BytesIO:
    """A zip with the given entries, prefixed by a valid mimetype and container unless told not to."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if mimetype:
            archive.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        if container:
            archive.writestr("META-INF/container.xml", CONTAINER)
        for name, data in entries:
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    buffer.seek(0)
    return buffer


def test_kusamakura_entries_have_japanese_names_and_read_in_bounded_chunks():
    data = pack_epub_directory(SAMPLES / "kusamakura-japanese-vertical-writing")
    with open_epub(io.BytesIO(data)) as archive:
        assert "OPS/xhtml/一.xhtml" in archive
        assert "OPS/images/夏目漱石.jpg" in archive
        text = archive.read_bytes("OPS/xhtml/一.xhtml").decode()
        assert "非人情がちと強過ぎたようだ" in text
        whole = archive.read_bytes("OPS/images/夏目漱石.jpg", max_size=10_000_000)
        chunks = list(archive.iter_range("OPS/images/夏目漱石.jpg", 100, 5000, chunk_size=1000))
        assert max(len(c) for c in chunks) <= 1000
        assert b"".join(chunks) == whole[100:5000]
        with pytest.raises(EntryTooLarge):
            archive.read_bytes("OPS/images/夏目漱石.jpg", max_size=100)
        with pytest.raises(EntryNotFound):
            archive.read_bytes("OPS/xhtml/ない.xhtml")


def test_names_written_in_cp932_without_the_utf8_flag_are_decoded():
    placeholder, cp932_name = b"OPS/XX.xhtml", "OPS/一.xhtml".encode("cp932")
    assert len(placeholder) == len(cp932_name)
    # As a Japanese-Windows zip tool writes it: CP932 bytes and no UTF-8 flag.
    patched = build_zip([(placeholder.decode(), b"<html/>")]).getvalue().replace(placeholder, cp932_name)
    with open_epub(io.BytesIO(patched)) as archive:
        assert "OPS/一.xhtml" in archive.names
        assert archive.read_bytes("OPS/一.xhtml") == b"<html/>"


@pytest.mark.parametrize("name", ["../evil.xhtml", "OPS/../../evil", "/etc/passwd", "OPS\\evil.xhtml",
                                  "C:/evil", "OPS/./x", "OPS//x"])
def test_names_escaping_the_package_are_refused(name):
    with pytest.raises(UnsafeEntryName) as caught:
        open_epub(build_zip([(name, b"x")]))
    assert caught.value.status == 422
    assert "危険" in caught.value.message("ja")
    assert "unsafe" in caught.value.message("en")


def test_a_zip_bomb_is_refused_before_anything_is_inflated():
    with pytest.raises(ZipBombSuspected):
        open_epub(build_zip([("OPS/bomb.xhtml", b"\0" * (20 * 1024 * 1024))]))


def test_absurd_declared_sizes_are_refused():
    limits = ArchiveLimits(max_entry_size=1000)
    with pytest.raises(ZipBombSuspected):
        open_epub(build_zip([("OPS/big.jpg", bytes(range(256)) * 10)], compression=zipfile.ZIP_STORED), limits)
    limits = ArchiveLimits(max_total_size=3000)
    entries = [(f"OPS/{i}.jpg", bytes(range(256)) * 4) for i in range(4)]
    with pytest.raises(ZipBombSuspected):
        open_epub(build_zip(entries, compression=zipfile.ZIP_STORED), limits)


def test_too_many_entries_are_refused():
    with pytest.raises(TooManyEntries):
        open_epub(build_zip([(f"OPS/{i}.xhtml", b"x") for i in range(30)]), ArchiveLimits(max_entries=20))


def test_duplicate_names_are_refused():
    buffer = build_zip([("OPS/a.xhtml", b"one")])
    with zipfile.ZipFile(buffer, "a") as archive, pytest.warns(UserWarning):
        archive.writestr("OPS/a.xhtml", b"two")
    buffer.seek(0)
    with pytest.raises(BrokenContainer):
        open_epub(buffer)


def test_missing_or_wrong_mimetype_and_missing_container_are_refused():
    with pytest.raises(MissingMimetype):
        open_epub(build_zip([], mimetype=False))
    wrong = io.BytesIO()
    with zipfile.ZipFile(wrong, "w") as archive:
        archive.writestr("mimetype", "application/zip")
        archive.writestr("META-INF/container.xml", CONTAINER)
    wrong.seek(0)
    with pytest.raises(MissingMimetype):
        open_epub(wrong)
    with pytest.raises(MissingContainer):
        open_epub(build_zip([], container=False))


def test_not_a_zip_and_a_truncated_zip_are_broken_containers():
    with pytest.raises(BrokenContainer) as caught:
        open_epub(io.BytesIO(b"%PDF-1.7 not a zip"))
    assert "壊れて" in caught.value.message("ja")
    data = pack_epub_directory(SAMPLES / "kusamakura-japanese-vertical-writing")
    with pytest.raises(BrokenContainer):
        open_epub(io.BytesIO(data[: len(data) // 2]))


def test_corrupted_entry_data_fails_the_crc_check_when_read():
    buffer = build_zip([("OPS/a.xhtml", b"<p>" + b"abcdefgh" * 100 + b"</p>")], compression=zipfile.ZIP_STORED)
    data = buffer.getvalue().replace(b"abcdefgh", b"abcdefgX", 1)
    with open_epub(io.BytesIO(data)) as archive, pytest.raises(BrokenContainer):
        archive.read_bytes("OPS/a.xhtml")


def test_zip_level_encryption_is_refused():
    buffer = build_zip([("OPS/a.xhtml", b"secret")], compression=zipfile.ZIP_STORED)
    data = bytearray(buffer.getvalue())
    central = data.rfind(b"PK\x01\x02")  # the last central directory record is OPS/a.xhtml's
    data[central + 8] |= 0x1
    with pytest.raises(UnsupportedEncryption):
        open_epub(io.BytesIO(bytes(data)))


@pytest.mark.parametrize(("base", "href", "expected"), [
    ("OPS/package.opf", "xhtml/%E4%B8%80.xhtml", "OPS/xhtml/一.xhtml"),
    ("OPS/package.opf", "xhtml/一.xhtml#p1", "OPS/xhtml/一.xhtml"),
    ("OPS/xhtml/一.xhtml", "../images/%E5%A4%8F%E7%9B%AE%E6%BC%B1%E7%9F%B3.jpg", "OPS/images/夏目漱石.jpg"),
    ("OPS/package.opf", "../../etc/passwd", None),
    ("OPS/package.opf", "/etc/passwd", None),
    ("OPS/package.opf", "https://example.com/x.css", None),
    ("OPS/package.opf", "data:text/plain,hi", None),
])
def test_hrefs_resolve_inside_the_package_only(base, href, expected):
    assert resolve_href(base, href) == expected
