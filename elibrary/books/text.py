"""A book's text for the book-text index (本文検索): EPUB spine documents in reading order, PDF text layers.

Pure: a stream in, text out, or ``BookTextError`` with a reason safe to log (no text of the book in it).
EPUB: each spine item's XHTML, parsed by lxml without entities or network; ruby keeps its base text
(``<rt>``/``<rp>`` dropped), scripts and styles are ignored, block elements end a line; vertical books
are the same text. PDF: each page's text layer through pypdfium2 (a scanned page without one gives none).
"""
from __future__ import annotations

from typing import BinaryIO

from lxml import etree

from elibrary.books.archive import open_epub
from elibrary.books.errors import BookFileError
from elibrary.books.package import read_package

MAX_TEXT = 3_000_000  # characters kept of one book (a 300k-character novel is a tenth of it)
MAX_SPINE_DOCUMENT = 16 * 1024 * 1024
_SKIPPED = {"script", "style", "rt", "rp", "head", "title", "noscript", "template"}
_BLOCKS = {"p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "tr", "section", "article", "blockquote", "hr", "dd", "dt", "figcaption"}
_XHTML_TYPES = {"application/xhtml+xml", "text/html"}


class BookTextError(Exception):
    """The text of a book cannot be read; ``reason`` is short and holds nothing of the book's content."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def extract_text(stream: BinaryIO, media_type: str) -> str:
    """The text of an EPUB (``application/epub+zip``) or PDF (``application/pdf``) in reading order."""
    if media_type == "application/epub+zip":
        return epub_text(stream)
    if media_type == "application/pdf":
        return pdf_text(stream.read())
    raise BookTextError(f"no text extraction for media type {media_type[:60]!r}")


def epub_text(stream: BinaryIO) -> str:
    """The text of every spine document, in spine order."""
    try:
        with open_epub(stream) as archive:
            package = read_package(archive)
            parts: list[str] = []
            size = 0
            for item in package.spine:
                if item.media_type not in _XHTML_TYPES or item.path not in archive:
                    continue
                text = xhtml_text(archive.read_bytes(item.path, MAX_SPINE_DOCUMENT))
                parts.append(text)
                size += len(text)
                if size >= MAX_TEXT:
                    break
    except BookFileError as exc:
        raise BookTextError(f"EPUB unreadable: {exc.code}") from None
    return "\n".join(parts)[:MAX_TEXT]


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, recover=True, huge_tree=False)


def xhtml_text(data: bytes) -> str:
    """The visible text of one XHTML document (ruby base kept, readings dropped)."""
    try:
        root = etree.fromstring(data, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        root = None
    if root is None:
        raise BookTextError("a spine document is not readable XHTML")
    out: list[str] = []
    _walk(root, out)
    return "".join(out).strip()


def _walk(element, out: list[str]) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""
    local = tag.rpartition("}")[2].lower()
    if local not in _SKIPPED and tag:
        if element.text:
            out.append(element.text)
        for child in element:
            _walk(child, out)
        if local in _BLOCKS:
            out.append("\n")
    if element.tail:  # a skipped element's tail (the text after </rt>) is still text
        out.append(element.tail)


def pdf_text(data: bytes) -> str:
    """The text layer of every page (pages without one add nothing)."""
    import pypdfium2

    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        raise BookTextError(f"PDF unreadable: {str(exc)[:80]}") from None
    parts: list[str] = []
    size = 0
    try:
        for index in range(len(pdf)):
            page = pdf[index]
            textpage = page.get_textpage()
            text = textpage.get_text_range()
            textpage.close()
            page.close()
            parts.append(text.replace("\r\n", "\n"))
            size += len(text)
            if size >= MAX_TEXT:
                break
    finally:
        pdf.close()
    return "\n".join(parts)[:MAX_TEXT]
