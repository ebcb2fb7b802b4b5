"""A small EPUB writer for the demo books: EPUB 3 (with nav, optional fixed layout) and EPUB 2 (with NCX).

Output is byte-for-byte deterministic (fixed zip timestamps, fixed modified date), so loading the demo
twice stores each file once.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

ZIP_TIME = (2026, 4, 1, 0, 0, 0)
MODIFIED = "2026-04-01T00:00:00Z"
CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles>
    <rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>
  </rootfiles>
</container>
"""


@dataclass(frozen=True)
class Creator:
    """A dc:creator with its reading (file-as) and MARC role."""

    name: str
    reading: str
    role: str = "aut"


@dataclass
class Item:
    """A file inside the publication (path relative to OEBPS/)."""

    id: str
    href: str
    media_type: str
    data: bytes
    properties: str = ""
    in_spine: bool = False
    spine_properties: str = ""  # e.g. page-spread-right
    label: str = ""  # table-of-contents label for spine documents; "" keeps it out of the TOC


@dataclass
class Publication:
    """Metadata and content of one EPUB."""

    isbn: str
    title: str
    title_reading: str
    creators: list[Creator]
    language: str = "ja"
    publisher: str = ""
    date: str = ""
    description: str = ""
    subjects: list[str] = field(default_factory=list)
    series: str = ""
    series_position: str = ""
    progression: str = ""  # "rtl", "ltr" or "" (default)
    fixed_layout: bool = False
    accessibility_features: list[str] = field(default_factory=lambda: ["tableOfContents", "readingOrder"])
    access_modes: list[str] = field(default_factory=lambda: ["textual"])
    items: list[Item] = field(default_factory=list)

    def add(self, item: Item) -> Item:
        """Append an item and return it."""
        self.items.append(item)
        return item


def xhtml_page(title: str, body: str, *, lang: str = "ja", css: str = "style.css", head_extra: str = "", body_attrs: str = "") -> bytes:
    """An XHTML content document of the EPUB 3 kind."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n'
        f'<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" xml:lang="{lang}" lang="{lang}">\n'
        f"<head><meta charset=\"UTF-8\"/><title>{escape(title)}</title>{head_extra}"
        + (f'<link rel="stylesheet" type="text/css" href="{css}"/>' if css else "")
        + "</head>\n"
        f"<body{body_attrs}>\n{body}\n</body>\n</html>\n"
    ).encode()


def _zip(files: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        mimetype = zipfile.ZipInfo("mimetype", ZIP_TIME)
        archive.writestr(mimetype, b"application/epub+zip", compress_type=zipfile.ZIP_STORED)
        for name, data in files:
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _dc_metadata3(pub: Publication) -> list[str]:
    lines = [
        f'<dc:identifier id="pub-id">urn:isbn:{pub.isbn}</dc:identifier>',
        f'<dc:title id="title">{escape(pub.title)}</dc:title>',
        '<meta refines="#title" property="title-type">main</meta>',
        f'<meta refines="#title" property="file-as">{escape(pub.title_reading)}</meta>',
    ]
    for n, creator in enumerate(pub.creators, 1):
        lines += [
            f'<dc:creator id="creator{n}">{escape(creator.name)}</dc:creator>',
            f'<meta refines="#creator{n}" property="role" scheme="marc:relators">{creator.role}</meta>',
            f'<meta refines="#creator{n}" property="file-as">{escape(creator.reading)}</meta>',
            f'<meta refines="#creator{n}" property="display-seq">{n}</meta>',
        ]
    lines.append(f"<dc:language>{pub.language}</dc:language>")
    if pub.publisher:
        lines.append(f"<dc:publisher>{escape(pub.publisher)}</dc:publisher>")
    if pub.date:
        lines.append(f"<dc:date>{pub.date}</dc:date>")
    if pub.description:
        lines.append(f"<dc:description>{escape(pub.description)}</dc:description>")
    lines += [f"<dc:subject>{escape(s)}</dc:subject>" for s in pub.subjects]
    if pub.series:
        lines += [
            f'<meta property="belongs-to-collection" id="series">{escape(pub.series)}</meta>',
            '<meta refines="#series" property="collection-type">series</meta>',
        ]
        if pub.series_position:
            lines.append(f'<meta refines="#series" property="group-position">{pub.series_position}</meta>')
    lines.append(f'<meta property="dcterms:modified">{MODIFIED}</meta>')
    lines += [f'<meta property="schema:accessMode">{m}</meta>' for m in pub.access_modes]
    lines.append(f'<meta property="schema:accessModeSufficient">{",".join(pub.access_modes)}</meta>')
    lines += [f'<meta property="schema:accessibilityFeature">{f}</meta>' for f in pub.accessibility_features]
    lines += [
        '<meta property="schema:accessibilityHazard">none</meta>',
        '<meta property="schema:accessibilitySummary">Generated demo publication; text is real text, images have text alternatives.</meta>',
    ]
    if pub.fixed_layout:
        lines += [
            '<meta property="rendition:layout">pre-paginated</meta>',
            '<meta property="rendition:spread">landscape</meta>',
            '<meta property="rendition:orientation">auto</meta>',
        ]
    cover = next((i for i in pub.items if "cover-image" in i.properties), None)
    if cover is not None:
        lines.append(f'<meta name="cover" content="{cover.id}"/>')
    return lines


def _nav(pub: Publication) -> bytes:
    entries = "\n".join(f'<li><a href="{i.href}">{escape(i.label)}</a></li>' for i in pub.items if i.in_spine and i.label)
    pages = ""
    if pub.fixed_layout:
        page_items = [i for i in pub.items if i.in_spine]
        pages = '<nav epub:type="page-list" hidden="hidden"><ol>' + "".join(
            f'<li><a href="{i.href}">{n}</a></li>' for n, i in enumerate(page_items, 1)
        ) + "</ol></nav>"
    body = (
        f'<nav epub:type="toc" id="toc"><h1>{"目次" if pub.language == "ja" else "Contents"}</h1>\n<ol>\n{entries}\n</ol></nav>\n{pages}'
    )
    return xhtml_page(pub.title, body, lang=pub.language, css="")


def build_epub3(pub: Publication) -> bytes:
    """The EPUB 3 zip of ``pub``: OPF with refinements, nav document, optional fixed layout."""
    nav = Item("nav", "nav.xhtml", "application/xhtml+xml", _nav(pub), properties="nav")
    items = [*pub.items, nav]
    manifest = "\n".join(
        f'<item id="{i.id}" href="{i.href}" media-type="{i.media_type}"' + (f' properties="{i.properties}"' if i.properties else "") + "/>"
        for i in items
    )
    spine = "\n".join(
        f'<itemref idref="{i.id}"' + (f' properties="{i.spine_properties}"' if i.spine_properties else "") + "/>"
        for i in pub.items
        if i.in_spine
    )
    direction = f' page-progression-direction="{pub.progression}"' if pub.progression else ""
    metadata = "\n".join(_dc_metadata3(pub))
    opf = f"""<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="pub-id" xml:lang="{pub.language}">
<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
{metadata}
</metadata>
<manifest>
{manifest}
</manifest>
<spine{direction}>
{spine}
</spine>
</package>
"""
    files = [("META-INF/container.xml", CONTAINER.encode()), ("OEBPS/content.opf", opf.encode())]
    files += [(f"OEBPS/{i.href}", i.data) for i in items]
    return _zip(files)


def build_epub2(pub: Publication) -> bytes:
    """The EPUB 2.0.1 zip of ``pub``, with an NCX table of contents and opf:file-as readings."""
    ncx_points = "\n".join(
        f'<navPoint id="np{n}" playOrder="{n}"><navLabel><text>{escape(i.label)}</text></navLabel><content src="{i.href}"/></navPoint>'
        for n, i in enumerate((i for i in pub.items if i.in_spine and i.label), 1)
    )
    ncx = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE ncx PUBLIC "-//NISO//DTD ncx 2005-1//EN" "http://www.daisy.org/z3986/2005/ncx-2005-1.dtd">
<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1" xml:lang="{pub.language}">
<head><meta name="dtb:uid" content="{pub.isbn}"/><meta name="dtb:depth" content="1"/>
<meta name="dtb:totalPageCount" content="0"/><meta name="dtb:maxPageNumber" content="0"/></head>
<docTitle><text>{escape(pub.title)}</text></docTitle>
<navMap>
{ncx_points}
</navMap>
</ncx>
""".encode()
    creators = "\n".join(
        f'<dc:creator opf:role="{c.role}" opf:file-as={quoteattr(c.reading)}>{escape(c.name)}</dc:creator>' for c in pub.creators
    )
    cover = next((i for i in pub.items if "cover-image" in i.properties), None)
    manifest = "\n".join(f'<item id="{i.id}" href="{i.href}" media-type="{i.media_type}"/>' for i in pub.items)
    spine = "\n".join(f'<itemref idref="{i.id}"/>' for i in pub.items if i.in_spine)
    subjects = "\n".join(f"<dc:subject>{escape(s)}</dc:subject>" for s in pub.subjects)
    opf = f"""<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="2.0" unique-identifier="pub-id">
<metadata xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:opf="http://www.idpf.org/2007/opf">
<dc:identifier id="pub-id" opf:scheme="ISBN">{pub.isbn}</dc:identifier>
<dc:title>{escape(pub.title)}</dc:title>
{creators}
<dc:language>{pub.language}</dc:language>
<dc:publisher>{escape(pub.publisher)}</dc:publisher>
<dc:date opf:event="publication">{pub.date}</dc:date>
<dc:description>{escape(pub.description)}</dc:description>
{subjects}
{f'<meta name="cover" content="{cover.id}"/>' if cover else ""}
</metadata>
<manifest>
<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>
{manifest}
</manifest>
<spine toc="ncx"{f' page-progression-direction="{pub.progression}"' if pub.progression else ""}>
{spine}
</spine>
</package>
"""
    files = [("META-INF/container.xml", CONTAINER.encode()), ("OEBPS/content.opf", opf.encode()), ("OEBPS/toc.ncx", ncx)]
    files += [(f"OEBPS/{i.href}", i.data) for i in pub.items]
    return _zip(files)


def xhtml11_page(title: str, body: str, *, lang: str = "ja") -> bytes:
    """An XHTML 1.1 content document for EPUB 2."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN" "http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd">\n'
        f'<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="{lang}">\n'
        f'<head><meta http-equiv="Content-Type" content="application/xhtml+xml; charset=utf-8"/><title>{escape(title)}</title>'
        '<link rel="stylesheet" type="text/css" href="style.css"/></head>\n'
        f"<body>\n{body}\n</body>\n</html>\n"
    ).encode()
