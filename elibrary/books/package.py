"""The package document (OPF) and navigation of an EPUB 2 or 3, read into plain dataclasses.

Covers what the catalog import and the readers need: titles and creators with their readings
(``file-as``, ``alternate-script`` refinements; EPUB 2 ``opf:file-as``), manifest, spine with
per-itemref spread and layout properties, page progression, ``rendition:*`` layout, the table of
contents (EPUB 3 nav or EPUB 2 NCX), the cover image and media overlays.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from elibrary.books.archive import CONTAINER_PATH, EpubArchive, resolve_href
from elibrary.books.errors import BookFileError, BrokenContainer, MissingContainer
from elibrary.books.navigation import TocEntry, read_toc
from elibrary.books.xml import NS, XML_LANG, parse_xml, text_of

OPF_MEDIA_TYPE = "application/oebps-package+xml"
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/svg+xml")


@dataclass
class MetadataValue:
    """A ``dc:*`` value with its refinements (``file-as`` = reading/sort key, ``alternate-script``)."""

    value: str
    id: str = ""
    lang: str = ""
    file_as: str = ""
    alternate_scripts: dict[str, str] = field(default_factory=dict)  # lang -> text
    role: str = ""  # MARC relator code for creators/contributors
    title_type: str = ""  # main, subtitle, collection, ...
    display_seq: int | None = None


@dataclass(frozen=True)
class ManifestItem:
    """One publication resource; ``path`` is the zip entry name (decoded, relative to the package root)."""

    id: str
    path: str
    media_type: str
    properties: tuple[str, ...] = ()
    media_overlay: str = ""  # id of the SMIL item
    fallback: str = ""


@dataclass(frozen=True)
class SpineItem:
    """One itemref: reading order, linearity, and its page-spread / layout overrides."""

    idref: str
    path: str
    media_type: str
    linear: bool = True
    properties: tuple[str, ...] = ()

    @property
    def page_spread(self) -> str:
        """``left``, ``right``, ``center`` or ``""``."""
        for prop in self.properties:
            if prop in ("page-spread-left", "rendition:page-spread-left"):
                return "left"
            if prop in ("page-spread-right", "rendition:page-spread-right"):
                return "right"
            if prop in ("rendition:page-spread-center", "page-spread-center"):
                return "center"
        return ""

    @property
    def layout(self) -> str:
        """A per-item layout override (``pre-paginated``/``reflowable``) or ``""``."""
        for prop in self.properties:
            if prop.startswith("rendition:layout-"):
                return prop.removeprefix("rendition:layout-")
        return ""


@dataclass(frozen=True)
class Rendition:
    """Package-wide rendering hints (EPUB 3 Fixed Layout)."""

    layout: str = "reflowable"
    spread: str = "auto"
    orientation: str = "auto"
    flow: str = "auto"


@dataclass
class Package:
    """Everything read from ``container.xml``, the OPF and its navigation."""

    path: str
    version: str
    unique_identifier: str = ""
    titles: list[MetadataValue] = field(default_factory=list)
    creators: list[MetadataValue] = field(default_factory=list)
    contributors: list[MetadataValue] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)
    publisher: str = ""
    date: str = ""
    modified: str = ""
    description: str = ""
    subjects: list[str] = field(default_factory=list)
    accessibility: dict[str, list[str]] = field(default_factory=dict)
    rendition: Rendition = field(default_factory=Rendition)
    page_progression_direction: str = "default"
    manifest: dict[str, ManifestItem] = field(default_factory=dict)
    spine: list[SpineItem] = field(default_factory=list)
    nav_path: str = ""
    ncx_path: str = ""
    cover_path: str = ""
    toc: list[TocEntry] = field(default_factory=list)
    media_active_class: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        """The main title (first ``title-type=main``, else the first title)."""
        mains = [t for t in self.titles if t.title_type == "main"] or self.titles
        return mains[0].value if mains else ""

    @property
    def title_reading(self) -> str:
        """The main title's reading (``file-as``, or a kana ``alternate-script``)."""
        mains = [t for t in self.titles if t.title_type == "main"] or self.titles
        return _reading(mains[0]) if mains else ""

    @property
    def language(self) -> str:
        """The first declared language (``ja`` if none)."""
        return self.languages[0] if self.languages else "ja"

    @property
    def is_fixed_layout(self) -> bool:
        """Whether the publication is pre-paginated (manga, picture books)."""
        return self.rendition.layout == "pre-paginated"

    @property
    def is_rtl(self) -> bool:
        """Whether pages turn right to left."""
        return self.page_progression_direction == "rtl"

    @property
    def isbn(self) -> str:
        """An ISBN-13 found among the identifiers (digits only), or ``""``."""
        for identifier in self.identifiers:
            digits = "".join(ch for ch in identifier if ch.isdigit() or ch in "Xx")
            if identifier.lower().replace("urn:isbn:", "isbn:").startswith("isbn") or len(digits) == 13:
                if len(digits) == 13 and digits.startswith(("978", "979")):
                    return digits
        return ""

    def item_for_path(self, path: str) -> ManifestItem | None:
        """The manifest item whose entry is ``path``."""
        for item in self.manifest.values():
            if item.path == path:
                return item
        return None

    def media_overlay_path(self, item: ManifestItem) -> str:
        """The SMIL entry synchronised with ``item``, or ``""``."""
        smil = self.manifest.get(item.media_overlay) if item.media_overlay else None
        return smil.path if smil else ""


def _reading(value: MetadataValue) -> str:
    if value.file_as:
        return value.file_as
    for lang, text in value.alternate_scripts.items():
        if lang.lower().startswith("ja-hrkt") or lang.lower() == "ja-kana":
            return text
    return ""


def rootfile_path(archive: EpubArchive) -> str:
    """The package document named by ``META-INF/container.xml`` (the first OPF rootfile)."""
    root = parse_xml(archive.read_bytes(CONTAINER_PATH), "container.xml")
    for rootfile in root.iter(f"{{{NS['container']}}}rootfile"):
        media_type = rootfile.get("media-type", OPF_MEDIA_TYPE)
        full_path = rootfile.get("full-path", "")
        if media_type == OPF_MEDIA_TYPE and full_path:
            path = resolve_href("", full_path)
            if path is None or path not in archive:
                raise MissingContainer("container.xml が指すパッケージ文書がEPUB内にありません。",
                                       "The package document named in container.xml is not in the EPUB.")
            return path
    raise MissingContainer()


def read_package(archive: EpubArchive) -> Package:
    """Parse the container, the OPF and the navigation of an opened, checked EPUB."""
    path = rootfile_path(archive)
    root = parse_xml(archive.read_bytes(path), "パッケージ文書 (OPF)")
    if root.tag != f"{{{NS['opf']}}}package":
        raise BrokenContainer("パッケージ文書 (OPF) の形式が正しくありません。", "The package document (OPF) is not valid.")
    package = Package(path=path, version=root.get("version", ""), unique_identifier="")
    metadata = root.find("opf:metadata", NS)
    if metadata is None:
        raise BrokenContainer("パッケージ文書に metadata がありません。", "The package document has no metadata.")
    _read_metadata(package, metadata, root.get("unique-identifier", ""))
    _read_manifest(package, root.find("opf:manifest", NS), path)
    _read_spine(package, root.find("opf:spine", NS))
    _read_cover(package, metadata)
    package.toc = _read_navigation(archive, package)
    return package


def _read_metadata(package: Package, metadata: Element, unique_id: str) -> None:
    by_id: dict[str, MetadataValue] = {}

    def value_of(element: Element) -> MetadataValue:
        opf = NS["opf"]
        value = MetadataValue(
            value=text_of(element), id=element.get("id", ""), lang=element.get(XML_LANG, ""),
            file_as=element.get(f"{{{opf}}}file-as", ""), role=element.get(f"{{{opf}}}role", ""),
        )
        if value.id:
            by_id[value.id] = value
        return value

    dc = NS["dc"]
    for element in metadata:
        tag = element.tag
        if tag == f"{{{dc}}}title":
            package.titles.append(value_of(element))
        elif tag == f"{{{dc}}}creator":
            package.creators.append(value_of(element))
        elif tag == f"{{{dc}}}contributor":
            package.contributors.append(value_of(element))
        elif tag == f"{{{dc}}}language":
            package.languages.append(text_of(element))
        elif tag == f"{{{dc}}}identifier":
            package.identifiers.append(text_of(element))
            if element.get("id") == unique_id:
                package.unique_identifier = text_of(element)
        elif tag == f"{{{dc}}}publisher" and not package.publisher:
            package.publisher = text_of(element)
        elif tag == f"{{{dc}}}date" and not package.date:
            package.date = text_of(element)
        elif tag == f"{{{dc}}}description" and not package.description:
            package.description = text_of(element)
        elif tag == f"{{{dc}}}subject":
            package.subjects.append(text_of(element))
    _read_meta_elements(package, metadata, by_id)


def _read_meta_elements(package: Package, metadata: Element, by_id: dict[str, MetadataValue]) -> None:
    layout = {"layout": "reflowable", "spread": "auto", "orientation": "auto", "flow": "auto"}
    for meta in metadata.iter(f"{{{NS['opf']}}}meta"):
        prop, text = meta.get("property", ""), text_of(meta)
        refines = meta.get("refines", "")
        if refines.startswith("#"):
            target = by_id.get(refines[1:])
            if target is None:
                continue
            if prop == "file-as":
                target.file_as = text
            elif prop == "alternate-script":
                target.alternate_scripts.setdefault(meta.get(XML_LANG, ""), text)
            elif prop == "role" and not target.role:
                target.role = text
            elif prop == "title-type":
                target.title_type = text
            elif prop == "display-seq" and text.isdigit():
                target.display_seq = int(text)
            continue
        if prop.startswith("rendition:") and prop.removeprefix("rendition:") in layout:
            layout[prop.removeprefix("rendition:")] = text
        elif prop == "dcterms:modified":
            package.modified = text
        elif prop == "media:active-class":
            package.media_active_class = text
        elif prop.startswith("schema:access") or prop == "dcterms:conformsTo":
            package.accessibility.setdefault(prop.removeprefix("schema:"), []).append(text)
    package.rendition = Rendition(**layout)
    for group in (package.titles, package.creators, package.contributors):
        group.sort(key=lambda v: v.display_seq if v.display_seq is not None else 1_000_000)


def _read_manifest(package: Package, manifest: Element | None, opf_path: str) -> None:
    if manifest is None:
        raise BrokenContainer("パッケージ文書に manifest がありません。", "The package document has no manifest.")
    for element in manifest.iter(f"{{{NS['opf']}}}item"):
        item_id, href = element.get("id", ""), element.get("href", "")
        try:
            path = resolve_href(opf_path, href) if href else None
        except UnicodeDecodeError:
            path = None
        if not item_id or path is None:
            package.problems.append(f"manifest item {item_id!r}: unusable href {href[:100]!r}")
            continue
        properties = tuple(element.get("properties", "").split())
        item = ManifestItem(item_id, path, element.get("media-type", ""), properties,
                            element.get("media-overlay", ""), element.get("fallback", ""))
        package.manifest[item_id] = item
        if "nav" in properties and not package.nav_path:
            package.nav_path = path
        if "cover-image" in properties and not package.cover_path:
            package.cover_path = path


def _read_spine(package: Package, spine: Element | None) -> None:
    if spine is None:
        raise BrokenContainer("パッケージ文書に spine がありません。", "The package document has no spine.")
    direction = spine.get("page-progression-direction", "default")
    package.page_progression_direction = direction if direction in ("ltr", "rtl") else "default"
    ncx = package.manifest.get(spine.get("toc", ""))
    if ncx is not None:
        package.ncx_path = ncx.path
    else:
        for item in package.manifest.values():
            if item.media_type == "application/x-dtbncx+xml":
                package.ncx_path = item.path
                break
    for itemref in spine.iter(f"{{{NS['opf']}}}itemref"):
        item = package.manifest.get(itemref.get("idref", ""))
        if item is None:
            package.problems.append(f"spine itemref {itemref.get('idref', '')!r} names no manifest item")
            continue
        package.spine.append(SpineItem(item.id, item.path, item.media_type, itemref.get("linear", "yes") != "no",
                                       tuple(itemref.get("properties", "").split())))
    if not package.spine:
        raise BrokenContainer("パッケージ文書の spine が空です。", "The package document's spine is empty.")


def _read_cover(package: Package, metadata: Element) -> None:
    if package.cover_path:
        return
    for meta in metadata.iter(f"{{{NS['opf']}}}meta"):  # EPUB 2: <meta name="cover" content="item-id"/>
        if meta.get("name") == "cover":
            item = package.manifest.get(meta.get("content", ""))
            if item is not None and item.media_type in IMAGE_TYPES:
                package.cover_path = item.path
                return


def _read_navigation(archive: EpubArchive, package: Package) -> list[TocEntry]:
    for path, kind in ((package.nav_path, "nav"), (package.ncx_path, "ncx")):
        if not path or path not in archive:
            continue
        try:
            toc = read_toc(archive.read_bytes(path), path, kind)
        except BookFileError as exc:
            package.problems.append(f"{kind} {path}: {exc.message_en}")
            continue
        if toc:
            return toc
    return []
