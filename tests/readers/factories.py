"""Readers' factories: titles with a stored book file, licences and patrons. They flush, never commit."""
from __future__ import annotations

import io
import itertools
import zipfile

from sqlalchemy.orm import Session

from elibrary.books.packing import pack_epub_directory
from elibrary.catalog.files import attach_book_file
from elibrary.catalog.models import Title
from elibrary.lending import services as lending
from elibrary.patrons.services import add_local_patron
from tests.conftest import EXTERNAL

SAMPLES = EXTERNAL / "epub3-samples"
W3C = EXTERNAL / "epub-tests-w3c" / "tests"
KUSAMAKURA = SAMPLES / "kusamakura-japanese-vertical-writing"
EPUB = "application/epub+zip"
PDF = "application/pdf"
PIN = "secret-pin-1234"
_serial = itertools.count(1)


def make_book(session: Session, storage, data: bytes, media_type: str = EPUB, *, license: str | None = "one-copy",
              drm_free_download: bool = False, **title_fields) -> Title:
    """A title with the given file stored and a licence (``"open"`` makes it readable by anyone)."""
    title = Title(title=title_fields.pop("title", f"読書テスト {next(_serial)}"), **title_fields)
    session.add(title)
    session.flush()
    attach_book_file(session, storage, title, io.BytesIO(data), media_type)
    if license == "open":
        lending.add_license(session, title.id, "open")
    elif license:
        lending.add_license(session, title.id, license, copies=1, drm_free_download=drm_free_download)
    session.flush()
    return title


def make_sample(session: Session, storage, directory=KUSAMAKURA, **kwargs) -> Title:
    """A title whose file is the unpacked sample ``directory``, zipped."""
    return make_book(session, storage, pack_epub_directory(directory), EPUB, **kwargs)


def manga_epub(pages: int = 4) -> bytes:
    """A fixed-layout manga made here (drawn by the demo's picture-book code): rtl, landscape spreads, portrait
    orientation, pages paired right then left, a PNG cover, and one reflowable spine item (a text afterword).

    It replaces the IDPF "haruko" sample, whose licence does not allow redistribution.
    """
    from elibrary.demo import drawing, picture_book
    from elibrary.demo import epub as demo_epub

    pub = demo_epub.Publication(isbn="9784999999019", title="はるのまんが", title_reading="ハルノマンガ",
                                creators=[demo_epub.Creator("試験 太郎", "シケン タロウ")], progression="rtl",
                                fixed_layout=True, access_modes=["visual"])
    cover = io.BytesIO()
    picture_book.draw_cover().save(cover, "PNG")
    pub.add(demo_epub.Item("cover", "images/cover.png", "image/png", cover.getvalue(), properties="cover-image"))
    for n in range(1, pages + 1):
        image = f"images/p{n}.jpg"
        art = picture_book.draw_page((n - 1) % len(picture_book.ALT) + 1)
        pub.add(demo_epub.Item(f"img{n}", image, "image/jpeg", drawing.jpeg(art, 70)))
        page = demo_epub.xhtml_page(f"{n}", f'<img src="{image}" alt="{n}ページ" style="width:100%"/>',
                                    head_extra='<meta name="viewport" content="width=750, height=1050"/>')
        side = "page-spread-right" if n % 2 else "page-spread-left"  # rtl: right page first
        pub.add(demo_epub.Item(f"p{n}", f"p{n}.xhtml", "application/xhtml+xml", page, in_spine=True,
                               spine_properties=side, label="はじまり" if n == 1 else ""))
    afterword = demo_epub.xhtml_page("あとがき", "<p>あとがきは文字だけのページです。</p>")
    pub.add(demo_epub.Item("after", "afterword.xhtml", "application/xhtml+xml", afterword, in_spine=True,
                           spine_properties="rendition:layout-reflowable", label="あとがき"))
    data = demo_epub.build_epub3(pub)
    return _rewrite_entry(data, "OEBPS/content.opf", lambda opf: opf.replace(
        b'<meta property="rendition:orientation">auto</meta>', b'<meta property="rendition:orientation">portrait</meta>'))


def _rewrite_entry(data: bytes, name: str, change) -> bytes:
    """``data`` (a zip) with the entry ``name`` passed through ``change``; the other entries as they were."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            body = source.read(info)
            target.writestr(info, change(body) if info.filename == name else body)
    return out.getvalue()


def make_patron(session: Session, cipher, *, keep_reading_history: bool = False):
    """A local patron who signs in with ``card`` and ``PIN``; returns (patron, card)."""
    card = f"R{next(_serial):07d}"
    patron = add_local_patron(session, cipher, card, PIN)
    patron.keep_reading_history = keep_reading_history
    session.flush()
    return patron, card


def make_pdf(pages: int = 50) -> bytes:
    """A PDF of ``pages`` pages with Japanese text (a CID font, so pdf.js needs its CMaps) and an outline."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiMin-W3"))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for number in range(1, pages + 1):
        pdf.bookmarkPage(f"p{number}")
        if number % 10 == 1:
            pdf.addOutlineEntry(f"第{number // 10 + 1}章", f"p{number}")
        pdf.setFont("HeiseiMin-W3", 28)
        pdf.drawString(72, 740, f"第{number}ページ")
        pdf.setFont("Helvetica", 14)
        pdf.drawString(72, 700, f"Page {number} of the test document.")
        if number == 37:
            pdf.drawString(72, 660, "The needle is hidden on this page.")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def make_epub2() -> bytes:
    """A small EPUB 2 (OPF 2.0, NCX, XHTML 1.1 with a DOCTYPE) in Japanese, two chapters."""
    container = ('<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
                 '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
                 "</rootfiles></container>")
    opf = """<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="2.0" unique-identifier="id">
 <metadata xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:opf="http://www.idpf.org/2007/opf">
  <dc:title>坊っちゃん（EPUB 2）</dc:title><dc:creator opf:file-as="ナツメ, ソウセキ">夏目漱石</dc:creator>
  <dc:language>ja</dc:language><dc:identifier id="id">urn:uuid:12345678-1234-1234-1234-123456789abc</dc:identifier>
 </metadata>
 <manifest>
  <item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>
  <item id="c1" href="text/chapter1.html" media-type="application/xhtml+xml"/>
  <item id="c2" href="text/chapter2.html" media-type="application/xhtml+xml"/>
 </manifest>
 <spine toc="ncx"><itemref idref="c1"/><itemref idref="c2"/></spine>
</package>"""
    ncx = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE ncx PUBLIC "-//NISO//DTD ncx 2005-1//EN" "http://www.daisy.org/z3986/2005/ncx-2005-1.dtd">
<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1"><head/><docTitle><text>坊っちゃん</text></docTitle>
<navMap><navPoint id="n1" playOrder="1"><navLabel><text>第一章</text></navLabel><content src="text/chapter1.html"/></navPoint>
<navPoint id="n2" playOrder="2"><navLabel><text>第二章</text></navLabel><content src="text/chapter2.html"/></navPoint></navMap></ncx>"""
    page = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN" "http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="ja"><head><title>{title}</title></head>
<body><h1>{title}</h1><p>{text}</p></body></html>"""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        archive.writestr("META-INF/container.xml", container)
        archive.writestr("OEBPS/content.opf", opf)
        archive.writestr("OEBPS/toc.ncx", ncx)
        archive.writestr("OEBPS/text/chapter1.html", page.format(title="第一章", text="親譲りの無鉄砲で小供の時から損ばかりしている。"))
        archive.writestr("OEBPS/text/chapter2.html", page.format(title="第二章", text="船が岸を去ること三町ばかりの所でとまった。"))
    return buffer.getvalue()
