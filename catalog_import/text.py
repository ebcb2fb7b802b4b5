"""Text as sources send it: HTML descriptions turned into plain text, whitespace and control characters tidied.

Descriptions are stored as plain text and escaped wherever they are output (OPAC pages, OPDS 1 and 2,
JSON), so markup from a feed (ONIX XHTML, escaped HTML in a CSV cell, an EPUB's ``dc:description``) is
reduced to its words here. The markup is first parsed and cut down to a small allow-list by a maintained,
browser-grade sanitiser (``nh3``, the Ammonia/html5ever binding), so tricks a hand-written parser reads
differently from a browser (``<scr<script>ipt>``, unclosed comments, odd end tags) cannot smuggle a
script through; scripts and styles are dropped with their content. Markup that was escaped once more
(``&lt;script&gt;`` inside HTML) is reduced again, so decoding entities never leaves live markup behind.
"""
from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

import nh3

_BLOCK = frozenset({"p", "div", "br", "li", "ul", "ol", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "dd", "dt", "section"})
_DROPPED = frozenset({"script", "style", "template", "iframe", "object", "noscript"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MARKUP_HINT = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>|&[a-zA-Z#][a-zA-Z0-9]*;")
# What survives sanitising: structure that becomes line breaks, and inline markup whose words are kept.
ALLOWED_TAGS = frozenset({"p", "br", "div", "ul", "ol", "li", "dl", "dt", "dd", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
                          "em", "strong", "b", "i", "u", "small", "sub", "sup", "span", "ruby", "rb", "rt", "rp"})
_DROPPED_WITH_CONTENT = frozenset(_DROPPED | {"title", "textarea", "select", "svg", "math", "xmp", "noembed", "noframes"})
MAX_ROUNDS = 3  # HTML escaped within HTML: each round peels one layer of escaping


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._dropping = 0

    def handle_starttag(self, tag, attrs):
        if tag in _DROPPED:
            self._dropping += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag, attrs):
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in _DROPPED:
            self._dropping = max(0, self._dropping - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._dropping:
            self.parts.append(data)


def sanitize_html(value: str) -> str:
    """``value`` cut down to ``ALLOWED_TAGS`` without attributes or comments (well-formed, entities escaped)."""
    return nh3.clean(value, tags=set(ALLOWED_TAGS), clean_content_tags=set(_DROPPED_WITH_CONTENT), attributes={},
                     strip_comments=True, link_rel=None)


def _sanitized_text(value: str) -> str:
    parser = _TextExtractor()
    parser.feed(sanitize_html(value))
    parser.close()
    return "".join(parser.parts)


def html_to_text(value: str) -> str:
    """The readable text of an HTML fragment (or of plain text, returned tidied); never holds a tag."""
    for _ in range(MAX_ROUNDS):
        if not _MARKUP_HINT.search(value):
            break
        reduced = _sanitized_text(value)
        if reduced == value:  # "a < b > c": text that only looks like markup
            break
        value = reduced
    else:
        if _MARKUP_HINT.search(value) and _sanitized_text(value) != value:
            value = _sanitized_text(value).replace("<", "＜").replace(">", "＞")  # still markup: make it inert
    return tidy(value, multiline=True)


def xhtml_text(element) -> str:
    """The text of an (lxml) element holding XHTML, blocks on their own lines, scripts and styles dropped.

    Text that was escaped HTML inside the element comes out as that HTML, for ``html_to_text`` to reduce.
    """
    parts: list[str] = [element.text or ""]

    def walk(parent) -> None:
        for child in parent:
            tag = child.tag.rpartition("}")[2].lower() if isinstance(child.tag, str) else ""
            if tag and tag not in _DROPPED:
                if tag in _BLOCK:
                    parts.append("\n")
                parts.append(child.text or "")
                walk(child)
                if tag in _BLOCK:
                    parts.append("\n")
            parts.append(child.tail or "")

    walk(element)
    return "".join(parts)


def tidy(value: str | None, *, multiline: bool = False) -> str:
    """NFC, control characters removed, runs of spaces collapsed; blank lines kept to one when ``multiline``."""
    if not value:
        return ""
    if value.isalnum() and value.isascii():  # codes and numbers, most of what a feed holds: nothing to tidy
        return value
    if not value.isascii() and not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    if _CONTROL.search(value):
        value = _CONTROL.sub("", value)
    if not multiline:
        return " ".join(value.split())
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def optional(value: str | None) -> str | None:
    """``tidy(value)``, or ``None`` when nothing is left (so the record says "not given")."""
    text = tidy(value)
    return text or None
