"""Book resources as the browser gets them: content types, and legacy ``-epub-*`` CSS mapped to standard CSS.

Browsers dropped the ``-epub-`` prefixes EPUB 3.0 defined, and many Japanese books (kusamakura among
them) use only the prefixed ``-epub-writing-mode``. We rewrite stylesheets and the ``<style>`` and
``style=""`` of XHTML as the server serves them, so any engine sees standard properties.
"""
from __future__ import annotations

import mimetypes
import posixpath
import re

TEXT_TYPES = ("text/css", "application/xhtml+xml", "text/html", "image/svg+xml")
EXTRA_TYPES = {
    ".xhtml": "application/xhtml+xml", ".html": "text/html", ".htm": "text/html", ".css": "text/css",
    ".svg": "image/svg+xml", ".opf": "application/oebps-package+xml", ".ncx": "application/x-dtbncx+xml",
    ".smil": "application/smil+xml", ".otf": "font/otf", ".ttf": "font/ttf", ".woff": "font/woff",
    ".woff2": "font/woff2", ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".mp4": "video/mp4",
    ".xml": "application/xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
    ".gif": "image/gif", ".webp": "image/webp", ".js": "text/javascript", ".xmp": "application/rdf+xml",
}
# Types a browser could run script in if opened directly; always served with a sandboxing CSP anyway.
_ALLOWED_TYPE = re.compile(r"^[a-z]+/[a-z0-9.+\-]+$")
_SCRIPT_TYPE = re.compile(r"(java|ecma|j|live)script", re.IGNORECASE)

# -epub-text-orientation values (EPUB 3.0.1) and their CSS Writing Modes 3 names.
_ORIENTATION = {"vertical-right": "mixed", "rotate-right": "sideways", "rotate-normal": "sideways",
                "sideways-right": "sideways", "use-glyph-orientation": "mixed"}
_WEBKIT_TOO = ("text-emphasis", "text-emphasis-style", "text-emphasis-color", "text-emphasis-position",
               )
_DECLARATION = re.compile(r"(?<![\w-])-epub-([a-z][a-z-]*)(\s*:\s*)([^;{}]*)", re.IGNORECASE)
_STYLE_ELEMENT = re.compile(r"(<style\b[^>]*>)(.*?)(</style\s*>)", re.IGNORECASE | re.DOTALL)
_STYLE_ATTRIBUTE = re.compile(r"""(\sstyle\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def content_type_for(path: str, manifest_type: str = "") -> str:
    """The media type to serve ``path`` as: the manifest's, else by extension, else octet-stream.

    A book's scripts are served as ``text/plain``: with ``nosniff`` no browser runs them as script, even
    from a page of the site that an injection might make load one.
    """
    if manifest_type and _ALLOWED_TYPE.match(manifest_type.lower()):
        media_type = manifest_type.lower()
    else:
        extension = posixpath.splitext(path)[1].lower()
        media_type = EXTRA_TYPES.get(extension) or mimetypes.types_map.get(extension) or "application/octet-stream"
    return "text/plain" if _SCRIPT_TYPE.search(media_type) else media_type


def _standard_declaration(match: re.Match) -> str:
    name, separator, value = match.group(1).lower(), match.group(2), match.group(3)
    stripped = value.strip()
    if name == "text-combine-horizontal":
        name = "text-combine-upright"
    elif name == "text-combine":
        name, value = "text-combine-upright", ("all" if stripped.lower().startswith("horizontal") else stripped)
    elif name == "text-orientation":
        value = _ORIENTATION.get(stripped.lower(), stripped)
    elif name == "text-transform":
        value = re.sub(r"-epub-fullwidth", "full-width", stripped, flags=re.IGNORECASE)
    elif name == "text-underline-position" and stripped.lower() == "alphabetic":
        value = "auto"
    declaration = f"{name}{separator}{value}"
    if name in _WEBKIT_TOO:
        declaration = f"-webkit-{name}{separator}{value};{declaration}"
    return declaration


def unprefix_css(css: str) -> str:
    """Map every ``-epub-*`` declaration to its standard property (and value, where it changed)."""
    return _DECLARATION.sub(_standard_declaration, css)


def unprefix_markup(markup: str) -> str:
    """Apply ``unprefix_css`` inside ``<style>`` elements and ``style`` attributes only (never to text)."""
    if "-epub-" not in markup:
        return markup
    markup = _STYLE_ELEMENT.sub(lambda m: m.group(1) + unprefix_css(m.group(2)) + m.group(3), markup)
    return _STYLE_ATTRIBUTE.sub(lambda m: m.group(1) + m.group(2) + unprefix_css(m.group(3)) + m.group(2), markup)


def rewrite_resource(data: bytes, content_type: str) -> bytes:
    """The bytes to serve for a text resource (CSS or markup), with ``-epub-*`` mapped; others unchanged."""
    if content_type not in TEXT_TYPES or b"-epub-" not in data:
        return data
    text, encoding = _decode(data)
    rewritten = unprefix_css(text) if content_type == "text/css" else unprefix_markup(text)
    return rewritten.encode(encoding)


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8"
    head = data[:200].decode("ascii", errors="ignore")
    declared = re.search(r"""(?:encoding=|@charset\s+)["']([A-Za-z0-9_\-]+)["']""", head)
    encoding = declared.group(1) if declared else "utf-8"
    try:
        return data.decode(encoding), encoding
    except (LookupError, UnicodeDecodeError):
        return data.decode("utf-8", errors="replace"), "utf-8"
