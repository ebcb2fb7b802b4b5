"""A reflowable EPUB's text as plain, safe HTML for the text-only mode (テキスト版): chapters as headings.

Each spine document is parsed with lxml (no network, no entities, no DTDs) and rebuilt from a short list of
text elements without any attribute: no scripts, styles, links, images (their alt text is kept in brackets),
frames or forms can come through, whatever the book contains. Ruby stays as ruby.
"""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree
from lxml import html as lxml_html
from markupsafe import Markup

from elibrary.books import open_epub, read_package

# Kept as they are (no attributes); headings are moved below the chapter heading (h2).
KEPT = {"p", "br", "em", "strong", "b", "i", "ruby", "rb", "rt", "rp", "blockquote", "ul", "ol", "li", "dl", "dt",
        "dd", "table", "thead", "tbody", "tr", "th", "td", "sub", "sup", "hr", "pre", "code"}
HEADINGS = {"h1": "h3", "h2": "h3", "h3": "h4", "h4": "h5", "h5": "h6", "h6": "h6"}
# Dropped with everything inside them.
DROPPED = {"script", "style", "noscript", "template", "iframe", "object", "embed", "form", "button", "input", "select",
           "textarea", "head", "title", "meta", "link", "base", "svg", "math", "audio", "video", "canvas", "nav"}
MAX_DOCUMENT = 4 * 1024 * 1024


@dataclass(frozen=True)
class Chapter:
    """One spine document: its heading (from the contents, else its own first heading) and its safe HTML."""

    anchor: str
    heading: str
    body: Markup


class NotReflowable(Exception):
    """The book is laid out as pictures (fixed layout) or is a PDF: it has no text mode."""


def _local(tag) -> str:
    return etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


def _copy(source, target) -> None:
    """Append ``source``'s safe content to ``target`` (an lxml element of our own)."""
    def add_text(text: str | None) -> None:
        if not text:
            return
        if len(target):
            target[-1].tail = (target[-1].tail or "") + text
        else:
            target.text = (target.text or "") + text

    add_text(source.text)
    for child in source:
        name = _local(child.tag)
        if name in DROPPED or not name:
            pass  # comments, processing instructions and unsafe elements leave nothing
        elif name == "img" or name == "image":
            alt = (child.get("alt") or "").strip()
            add_text(f"［{alt}］" if alt else "")
        elif name in KEPT or name in HEADINGS:
            element = etree.SubElement(target, HEADINGS.get(name, name))
            _copy(child, element)
        else:  # div, span, section, a, ...: their text, without the element
            _copy(child, target)
        add_text(child.tail)


def _document_html(data: bytes, label: str = "") -> tuple[str, Markup]:
    """The chapter's heading (``label``, else the document's first heading) and the safe HTML of its body.

    The document's own first heading is left out when it says the same as the chapter heading.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True)
    root = etree.fromstring(data, parser)
    if root is None:
        return "", Markup("")
    body = next((el for el in root.iter() if _local(el.tag) == "body"), root)
    out = etree.Element("div")
    _copy(body, out)
    first = next(out.iter("h3", "h4", "h5", "h6"), None)
    heading = " ".join("".join(first.itertext()).split()) if first is not None else ""
    if first is not None and (not label or heading == label):
        _remove(first)
    inner = "".join(lxml_html.tostring(child, encoding="unicode") for child in out)
    # Every element and attribute here was made by _copy; all text was escaped by the serializer.
    return heading, Markup.escape(out.text or "") + Markup(inner)


def _remove(element) -> None:
    """Take ``element`` out of its tree, keeping the text that followed it."""
    parent, tail = element.getparent(), element.tail
    previous = element.getprevious()
    parent.remove(element)
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def chapters(stream) -> list[Chapter]:
    """The book's reading order as chapters; ``NotReflowable`` for a fixed-layout book."""
    with open_epub(stream) as archive:
        package = read_package(archive)
        if package.is_fixed_layout:
            raise NotReflowable()
        labels = {}
        for entry in _flat_toc(package.toc):
            labels.setdefault(entry.href.split("#")[0], entry.label.strip())
        result = []
        for number, item in enumerate((i for i in package.spine if i.linear and "html" in i.media_type), start=1):
            label = labels.get(item.path, "")
            heading, body = _document_html(archive.read_bytes(item.path, MAX_DOCUMENT), label)
            label = label or heading or f"{number}"
            if not body.strip():
                continue
            result.append(Chapter(anchor=f"c{number}", heading=label, body=body))
        return result


def _flat_toc(entries) -> list:
    flat = []
    for entry in entries or []:
        flat.append(entry)
        flat.extend(_flat_toc(entry.children))
    return flat
