"""Package documents: metadata with readings, spine, layout, navigation, from real samples and hostile XML."""
from __future__ import annotations

import io
import zipfile

import pytest

from elibrary.books import BrokenContainer, MissingContainer, open_epub, read_package
from elibrary.books.packing import pack_epub_directory
from tests.conftest import EXTERNAL
from tests.readers.factories import manga_epub

SAMPLES = EXTERNAL / "epub3-samples"
W3C = EXTERNAL / "epub-tests-w3c" / "tests"


def package_of(directory):
    with open_epub(io.BytesIO(pack_epub_directory(directory))) as archive:
        return read_package(archive)


def epub_with(opf: bytes, extra: dict[str, bytes] | None = None) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip")
        archive.writestr("META-INF/container.xml", (
            '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container" version="1.0"><rootfiles>'
            '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
            "</rootfiles></container>"))
        archive.writestr("OEBPS/content.opf", opf)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    buffer.seek(0)
    return buffer


def test_kusamakura_metadata_readings_and_rtl_spine():
    package = package_of(SAMPLES / "kusamakura-japanese-vertical-writing")
    assert package.version == "3.0"
    assert package.title == "草枕"
    assert package.title_reading == "くさまくら"
    assert package.titles[0].alternate_scripts["en"] == "Kusamakura"
    author = package.creators[0]
    assert (author.value, author.file_as, author.role) == ("夏目 漱石", "なつめ そうせき", "aut")
    assert package.is_rtl and not package.is_fixed_layout
    assert package.spine[0].path == "OPS/xhtml/表紙.xhtml"
    assert "OPS/xhtml/一.xhtml" in [item.path for item in package.spine]
    assert package.nav_path == "OPS/xhtml/目次.xhtml"
    assert package.toc and package.toc[0].href.startswith("OPS/xhtml/")
    chapter = package.item_for_path("OPS/xhtml/一.xhtml")
    assert package.media_overlay_path(chapter) == "OPS/xhtml/一.smil"
    assert package.problems == []


def test_fixed_layout_manga_spreads_right_page_first():
    with open_epub(io.BytesIO(manga_epub())) as archive:
        package = read_package(archive)
    assert package.is_fixed_layout and package.is_rtl
    assert package.rendition.spread == "landscape"
    assert package.rendition.orientation == "portrait"
    spreads = [item.page_spread for item in package.spine]
    assert "right" in spreads and "left" in spreads
    assert any(item.layout == "reflowable" for item in package.spine)


@pytest.mark.parametrize(("test", "check"), [
    ("pkg-spine-progression_rtl", lambda p: p.page_progression_direction == "rtl"),
    ("pkg-spine-progression_ltr", lambda p: p.page_progression_direction == "ltr"),
    ("pkg-spine-progression-default", lambda p: p.page_progression_direction == "default"),
    ("lay-pp-page-spread-left", lambda p: "left" in [i.page_spread for i in p.spine]),
    ("lay-pp-page-spread-right", lambda p: "right" in [i.page_spread for i in p.spine]),
    ("lay-pp-spread-none", lambda p: p.is_fixed_layout and p.rendition.spread == "none"),
    ("lay-pkg-flow-scrolled-doc", lambda p: p.rendition.flow == "scrolled-doc"),
    ("mol-audio", lambda p: p.media_active_class == "my-active-class"
     and p.media_overlay_path(p.manifest["mobydick"]).endswith(".smil")),
    ("nav-access", lambda p: bool(p.toc)),
])
def test_w3c_epub_tests_are_read(test, check):
    package = package_of(W3C / test)
    assert check(package), package


def test_every_sample_opens_with_a_title_and_a_table_of_contents():
    for directory in sorted(SAMPLES.iterdir()):
        package = package_of(directory)
        assert package.title and package.spine and package.toc, directory.name


def test_epub2_ncx_cover_and_opf_attributes():
    opf = b"""<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="2.0" unique-identifier="bookid">
 <metadata xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:opf="http://www.idpf.org/2007/opf">
  <dc:title>\xe5\x9d\x8a\xe3\x81\xa3\xe3\x81\xa1\xe3\x82\x83\xe3\x82\x93</dc:title>
  <dc:creator opf:role="aut" opf:file-as="\xe3\x83\x8a\xe3\x83\x84\xe3\x83\xa1">Natsume</dc:creator>
  <dc:identifier id="bookid" opf:scheme="ISBN">978-4-00-000000-2</dc:identifier>
  <dc:language>ja</dc:language>
  <meta name="cover" content="cov"/>
 </metadata>
 <manifest>
  <item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>
  <item id="cov" href="images/cover%20art.jpg" media-type="image/jpeg"/>
  <item id="c1" href="text/ch1.html" media-type="application/xhtml+xml"/>
 </manifest>
 <spine toc="ncx"><itemref idref="c1"/></spine>
</package>"""
    ncx = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE ncx PUBLIC "-//NISO//DTD ncx 2005-1//EN" "http://www.daisy.org/z3986/2005/ncx-2005-1.dtd">
<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1"><navMap>
 <navPoint id="n1" playOrder="1"><navLabel><text>Chapter 1</text></navLabel><content src="text/ch1.html#s1"/>
  <navPoint id="n2" playOrder="2"><navLabel><text>1.1</text></navLabel><content src="text/ch1.html#s2"/></navPoint>
 </navPoint></navMap></ncx>"""
    with open_epub(epub_with(opf, {"OEBPS/toc.ncx": ncx, "OEBPS/text/ch1.html": b"<html/>"})) as archive:
        package = read_package(archive)
    assert package.version == "2.0"
    assert package.title == "坊っちゃん"
    assert package.creators[0].file_as == "ナツメ" and package.creators[0].role == "aut"
    assert package.isbn == "9784000000002"
    assert package.cover_path == "OEBPS/images/cover art.jpg"
    assert package.ncx_path == "OEBPS/toc.ncx"
    assert package.toc[0].label == "Chapter 1" and package.toc[0].href == "OEBPS/text/ch1.html#s1"
    assert package.toc[0].children[0].href == "OEBPS/text/ch1.html#s2"


@pytest.mark.parametrize("payload", [
    b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
    b'<package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata>&b;</metadata></package>',
    b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata>&x;</metadata></package>',
    b"<package><unclosed>",
])
def test_entity_expansion_external_entities_and_malformed_xml_are_refused(payload):
    with open_epub(epub_with(payload)) as archive, pytest.raises(BrokenContainer) as caught:
        read_package(archive)
    assert "パッケージ文書" in caught.value.message("ja")


def test_a_container_naming_a_missing_package_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip")
        archive.writestr("META-INF/container.xml", '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:'
                         'container"><rootfiles><rootfile full-path="../x.opf"/></rootfiles></container>')
    buffer.seek(0)
    with open_epub(buffer) as archive, pytest.raises(MissingContainer):
        read_package(archive)
