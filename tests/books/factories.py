"""Small EPUB and PDF files with known text, for the book-text index (本文検索)."""
from __future__ import annotations

import io

from elibrary.demo import epub

VERTICAL_CSS = "html { writing-mode: vertical-rl; -epub-writing-mode: vertical-rl; }"


def text_epub(*chapters: str, vertical: bool = False, title: str = "本文検索のテスト") -> bytes:
    """An EPUB 3 whose spine holds one XHTML document per ``chapters`` body fragment, in that order."""
    pub = epub.Publication(isbn="9784000000002", title=title, title_reading="ホンブン ケンサク ノ テスト",
                           creators=[epub.Creator("試験太郎", "シケン, タロウ")], progression="rtl" if vertical else "")
    pub.add(epub.Item("css", "style.css", "text/css", (VERTICAL_CSS if vertical else "p { margin: 0; }").encode()))
    for n, body in enumerate(chapters, 1):
        pub.add(epub.Item(f"ch{n}", f"chapter{n}.xhtml", "application/xhtml+xml", epub.xhtml_page(f"第{n}章", body),
                          in_spine=True, label=f"第{n}章"))
    return epub.build_epub3(pub)


def text_pdf(*pages: str) -> bytes:
    """A PDF with one line of Japanese text per page (a CID font: a real text layer)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiMin-W3"))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for text in pages:
        pdf.setFont("HeiseiMin-W3", 14)
        pdf.drawString(72, 740, text)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()
