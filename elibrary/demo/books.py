"""The demo EPUBs: a vertical story with ruby, a fixed-layout picture book, an English story, an EPUB 2 essay.

Each builder takes the demo title and returns the EPUB bytes; metadata comes from the catalog record,
so the file and the record agree.
"""
from __future__ import annotations

import re
from xml.sax.saxutils import escape

from elibrary.catalog.models import ROLE_LABELS
from elibrary.demo import drawing, epub, picture_book, texts
from elibrary.demo.catalog import DemoTitle
from elibrary.demo.covers import draw_cover

VERTICAL_CSS = """@charset "UTF-8";
html { writing-mode: vertical-rl; -webkit-writing-mode: vertical-rl; -epub-writing-mode: vertical-rl; }
body { font-family: serif; line-height: 1.9; margin: 0; }
h1 { font-size: 1.6em; margin: 2em 1em; }
h2 { font-size: 1.3em; margin: 0 0 0 2em; padding-top: 1em; }
p { margin: 0; text-indent: 1em; }
p.dialog { text-indent: 0; }
ruby rt { font-size: 0.5em; }
em.sesame { font-style: normal; text-emphasis-style: sesame; -webkit-text-emphasis-style: sesame; -epub-text-emphasis-style: sesame; }
.tcy { text-combine-upright: all; -webkit-text-combine: horizontal; -epub-text-combine: horizontal; }
.colophon { margin-top: 4em; font-size: 0.9em; }
"""

HORIZONTAL_CSS = """@charset "UTF-8";
body { font-family: serif; line-height: 1.7; margin: 0 1em; }
h1 { font-size: 1.6em; text-align: center; margin: 2em 0 1em; }
h2 { font-size: 1.3em; margin: 1.5em 0 0.8em; }
p { margin: 0 0 0.8em; text-indent: 1em; }
p.author { text-align: center; text-indent: 0; }
"""

FXL_CSS = """@charset "UTF-8";
html, body { margin: 0; padding: 0; width: 750px; height: 1050px; overflow: hidden; }
img.page { position: absolute; top: 0; left: 0; width: 750px; height: 1050px; }
p.text { position: absolute; left: 40px; right: 40px; bottom: 30px; margin: 0; padding: 18px 24px; border-radius: 24px;
  background: rgba(255, 255, 255, 0.88); font-family: sans-serif; font-size: 38px; line-height: 1.5; color: #222; }
"""

_RUBY = re.compile(r"\{([^|{}]+)\|([^{}]+)\}")
_DOTS = re.compile(r"《([^》]+)》")
_TCY = re.compile(r"\^([0-9A-Za-z!?]{1,3})\^")


def marked_up(text: str) -> str:
    """Turn the demo text markup into XHTML: ruby, emphasis dots (傍点), upright digits (縦中横)."""
    html = escape(text)
    html = _RUBY.sub(r"<ruby>\1<rt>\2</rt></ruby>", html)
    html = _DOTS.sub(r'<em class="sesame">\1</em>', html)
    return _TCY.sub(r'<span class="tcy">\1</span>', html)


def _paragraphs(text: str, *, markup: bool = True) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    out = []
    for line in lines:
        css = ' class="dialog"' if line.startswith("「") else ""
        out.append(f"<p{css}>{marked_up(line) if markup else escape(line)}</p>")
    return "\n".join(out)


def _publication(entry: DemoTitle, **overrides) -> epub.Publication:
    data = entry.data
    return epub.Publication(
        isbn=data.isbn,
        title=data.title,
        title_reading=data.title_reading,
        creators=[epub.Creator(c.name, c.reading, c.role) for c in data.contributors],
        language=data.language,
        publisher=data.publisher,
        date=str(data.published_on),
        description=data.description,
        subjects=[s.term for s in data.subjects],
        series=data.series_title,
        series_position=data.volume,
        **overrides,
    )


def _cover_item(image_bytes: bytes) -> epub.Item:
    return epub.Item("cover-image", "images/cover.jpg", "image/jpeg", image_bytes, properties="cover-image")


def _credits(entry: DemoTitle) -> str:
    return "　".join(f"{escape(c.name)}（{ROLE_LABELS[c.role][0]}）" for c in entry.data.contributors)


def vertical_story(entry: DemoTitle) -> bytes:
    """月夜の郵便局: reflowable EPUB 3, vertical-rl, rtl page progression, ruby, 傍点, 縦中横."""
    pub = _publication(entry, progression="rtl", accessibility_features=["tableOfContents", "readingOrder", "ruby", "displayTransformability"])
    pub.add(epub.Item("css", "style.css", "text/css", VERTICAL_CSS.encode()))
    pub.add(_cover_item(draw_cover(entry)))
    cover_page = f'<div class="cover"><img src="images/cover.jpg" alt="{escape(entry.data.title)} 表紙" style="height: 95vh;"/></div>'
    pub.add(epub.Item("cover", "cover.xhtml", "application/xhtml+xml", epub.xhtml_page(entry.data.title, cover_page), in_spine=True, label="表紙"))
    title_page = f"<h1>{escape(entry.data.title)}</h1>\n<p class=\"dialog\">{_credits(entry)}</p>"
    pub.add(epub.Item("titlepage", "titlepage.xhtml", "application/xhtml+xml", epub.xhtml_page(entry.data.title, title_page), in_spine=True))
    for n, (heading, body) in enumerate(texts.MOON_POST_OFFICE, 1):
        html = f'<section epub:type="chapter"><h2>{marked_up(heading)}</h2>\n{_paragraphs(body)}</section>'
        pub.add(epub.Item(f"ch{n}", f"chapter{n}.xhtml", "application/xhtml+xml", epub.xhtml_page(heading.replace("^", ""), html), in_spine=True,
                          label=heading.replace("^", "")))
    colophon = (f'<p class="colophon">{escape(entry.data.title)}　{escape(entry.data.publisher)}　ISBN{entry.data.isbn}<br/>'
                "この作品は elibrary のデモのために書き下ろされたものです。</p>")
    pub.add(epub.Item("colophon", "colophon.xhtml", "application/xhtml+xml", epub.xhtml_page("奥付", colophon), in_spine=True, label="奥付"))
    return epub.build_epub3(pub)


def _fxl_page(title: str, image_href: str, alt: str, text: str) -> bytes:
    body = f'<img class="page" src="{image_href}" alt="{escape(alt)}"/>' + (f'\n<p class="text">{escape(text)}</p>' if text else "")
    return epub.xhtml_page(title, body, head_extra='<meta name="viewport" content="width=750, height=1050"/>')


def picture_book_epub(entry: DemoTitle) -> bytes:
    """くまくんのあかいかさ: EPUB 3 fixed layout, landscape spreads, rtl, first page on the right."""
    pub = _publication(
        entry, progression="rtl", fixed_layout=True, access_modes=["textual", "visual"],
        accessibility_features=["alternativeText", "readingOrder", "tableOfContents"],
    )
    pub.add(epub.Item("css", "style.css", "text/css", FXL_CSS.encode()))
    pub.add(_cover_item(drawing.jpeg(picture_book.draw_cover(), 80)))
    pub.add(epub.Item("p0", "page00.xhtml", "application/xhtml+xml",
                      _fxl_page(entry.data.title, "images/cover.jpg", f"表紙：{entry.data.title}", ""), in_spine=True,
                      spine_properties="page-spread-right", label="表紙"))
    for n, line in enumerate(texts.PICTURE_BOOK, 1):
        image = f"images/page{n:02d}.jpg"
        pub.add(epub.Item(f"img{n}", image, "image/jpeg", drawing.jpeg(picture_book.draw_page(n), 80)))
        side = "page-spread-left" if n % 2 else "page-spread-right"  # rtl: right page first, then left
        pub.add(epub.Item(f"p{n}", f"page{n:02d}.xhtml", "application/xhtml+xml",
                          _fxl_page(f"{entry.data.title} {n}", image, picture_book.ALT[n - 1], line), in_spine=True,
                          spine_properties=side, label="おはなし" if n == 1 else ("おしまい" if n == len(texts.PICTURE_BOOK) else "")))
    return epub.build_epub3(pub)


def lighthouse(entry: DemoTitle) -> bytes:
    """The Lighthouse Library: horizontal English EPUB 3 with a nav table of contents."""
    pub = _publication(entry, progression="ltr")
    pub.add(epub.Item("css", "style.css", "text/css", HORIZONTAL_CSS.encode()))
    pub.add(_cover_item(draw_cover(entry)))
    names = ", ".join(escape(c.name) for c in entry.data.contributors)
    title_page = f'<h1>{escape(entry.data.title)}</h1>\n<p class="author">{names}</p>'
    pub.add(epub.Item("titlepage", "titlepage.xhtml", "application/xhtml+xml", epub.xhtml_page(entry.data.title, title_page, lang="en"),
                      in_spine=True, label="Title page"))
    for n, (heading, body) in enumerate(texts.LIGHTHOUSE, 1):
        html = f'<section epub:type="chapter"><h2>{n}. {escape(heading)}</h2>\n{_paragraphs(body, markup=False)}</section>'
        pub.add(epub.Item(f"ch{n}", f"chapter{n}.xhtml", "application/xhtml+xml", epub.xhtml_page(heading, html, lang="en"),
                          in_spine=True, label=f"{n}. {heading}"))
    return epub.build_epub3(pub)


def library_town(entry: DemoTitle) -> bytes:
    """図書館のある町: an EPUB 2.0.1 essay in horizontal Japanese with an NCX."""
    pub = _publication(entry)
    pub.add(epub.Item("css", "style.css", "text/css", HORIZONTAL_CSS.encode()))
    pub.add(_cover_item(draw_cover(entry)))
    title_page = f'<h1>{escape(entry.data.title)}</h1>\n<p class="author">{_credits(entry)}</p>'
    pub.add(epub.Item("titlepage", "titlepage.xhtml", "application/xhtml+xml", epub.xhtml11_page(entry.data.title, title_page),
                      in_spine=True, label="扉"))
    for n, (heading, body) in enumerate(texts.LIBRARY_TOWN, 1):
        html = f"<h2>{escape(heading)}</h2>\n{_paragraphs(body, markup=False)}"
        pub.add(epub.Item(f"ch{n}", f"chapter{n}.xhtml", "application/xhtml+xml", epub.xhtml11_page(heading, html), in_spine=True, label=heading))
    return epub.build_epub2(pub)


BUILDERS = {
    "vertical_story": vertical_story,
    "picture_book": picture_book_epub,
    "lighthouse": lighthouse,
    "library_town": library_town,
}


SAMPLE_NOTE = "この本は elibrary のデモ用に作った見本です。実際の本の内容ではありません。"


def sample_book(entry: DemoTitle) -> bytes:
    """A short reflowable EPUB 3 for a demo title with no story of its own: its description and a note."""
    pub = _publication(entry)
    lang = entry.data.language or "ja"
    pub.add(epub.Item("css", "style.css", "text/css", HORIZONTAL_CSS.encode()))
    pub.add(_cover_item(draw_cover(entry)))
    title_page = f'<h1>{escape(entry.data.title)}</h1>\n<p class="author">{_credits(entry)}</p>'
    pub.add(epub.Item("titlepage", "titlepage.xhtml", "application/xhtml+xml", epub.xhtml_page(entry.data.title, title_page, lang=lang),
                      in_spine=True, label="扉"))
    body = f"<h2>はじめに</h2>\n<p>{escape(entry.data.description)}</p>\n<p>{escape(SAMPLE_NOTE)}</p>"
    for subject in entry.data.subjects:
        body += f"\n<h2>{escape(subject.term)}</h2>\n<p>{escape(subject.term)}について、この本はやさしく紹介しています。{escape(SAMPLE_NOTE)}</p>"
    pub.add(epub.Item("ch1", "chapter1.xhtml", "application/xhtml+xml", epub.xhtml_page(entry.data.title, body, lang=lang),
                      in_spine=True, label="はじめに"))
    return epub.build_epub3(pub)


def sample_picture_book(entry: DemoTitle) -> bytes:
    """A four-page fixed-layout EPUB for a demo picture book with no pages of its own (its cover on each page)."""
    progression = entry.data.page_progression or "rtl"
    pub = _publication(entry, progression=progression, fixed_layout=True, access_modes=["textual", "visual"],
                       accessibility_features=["alternativeText", "readingOrder"])
    pub.add(epub.Item("css", "style.css", "text/css", FXL_CSS.encode()))
    pub.add(_cover_item(draw_cover(entry)))
    lines = ["", entry.data.description, SAMPLE_NOTE, "おしまい"]
    first, second = ("page-spread-right", "page-spread-left") if progression == "rtl" else ("page-spread-left", "page-spread-right")
    for n, line in enumerate(lines):
        pub.add(epub.Item(f"p{n}", f"page{n:02d}.xhtml", "application/xhtml+xml",
                          _fxl_page(f"{entry.data.title} {n}", "images/cover.jpg", f"表紙：{entry.data.title}", line), in_spine=True,
                          spine_properties=first if n % 2 == 0 else second, label="表紙" if n == 0 else ""))
    return epub.build_epub3(pub)
