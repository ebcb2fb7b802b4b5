"""Facts about a title that both OPDS versions show, in one place: file type, identifiers, dates."""
from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone

from elibrary.catalog.covers import thumbnail_key
from elibrary.catalog.models import ROLE_LABELS, BookFormat, Title
from elibrary.errors import NotFound

FORMAT_TYPES = {
    BookFormat.epub_reflowable: "application/epub+zip",
    BookFormat.epub_fixed: "application/epub+zip",
    BookFormat.pdf: "application/pdf",
    BookFormat.audio: "application/audiobook+json",
}
NDC_SCHEME = "http://id.ndl.go.jp/class/ndc/"
SUBJECT_SCHEMES = {"ndlsh": "http://id.ndl.go.jp/auth/ndlsh/", "bsh": "http://id.ndl.go.jp/auth/bsh/"}
READING_LANG = "ja-Hrkt"  # readings (ヨミ) are katakana: BCP 47 script subtag Hrkt (hiragana + katakana)


def book_type(title: Title) -> str:
    """Media type of the file a patron gets (the stored file's, else the one its format implies)."""
    for book in title.files:
        return book.media_type
    return FORMAT_TYPES.get(title.format, "application/epub+zip")


def identifier(title: Title) -> str:
    """A stable URI for the title: ``urn:isbn:`` when it has an ISBN."""
    return f"urn:isbn:{title.isbn}" if title.isbn else f"urn:elibrary:title:{title.id}"


def full_title(title: Title) -> str:
    """Title with subtitle and volume, as shown in lists."""
    text = title.title
    if title.volume:
        text = f"{text} {title.volume}"
    if title.subtitle:
        text = f"{text} — {title.subtitle}"
    return text


def rfc3339(moment: datetime | None) -> str:
    """``2026-04-01T09:00:00Z`` (UTC); naive values are taken as UTC."""
    if moment is None:
        moment = datetime.now(timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def issued(day: date | None) -> str | None:
    """Publication date as ``YYYY-MM-DD``."""
    return day.isoformat() if day else None


def role_label(role: str, locale: str) -> str:
    """Japanese or English label of a MARC relator code."""
    ja, en = ROLE_LABELS.get(role, (role, role))
    return en if locale == "en" else ja


# OPDS image rel -> the OPAC's cover size (``catalog.cover_views.SIZES``) and its width in pixels.
COVER_SIZES = (("http://opds-spec.org/image", "lg", 480), ("http://opds-spec.org/image/thumbnail", "sm", 120))


def cover_links(title: Title) -> list[tuple[str, str, str, str]]:
    """(rel, size, version, media type) of the title's bitmap covers; none for the SVG placeholder."""
    if not title.cover_key:
        return []
    version = hashlib.sha256(title.cover_key.encode()).hexdigest()[:16]  # as ``catalog.presentation.cover_url``
    links = []
    for rel, size, width in COVER_SIZES:
        try:
            _, media_type = thumbnail_key(title.cover_key, width)
        except NotFound:
            return []
        links.append((rel, size, version, media_type))
    return links


BROWSER_ONLY_JA = "この本の出版社はアプリでの閲覧を認めていません。ウェブサイトにログインして、ブラウザで読んでください。"
BROWSER_ONLY_EN = "The publisher does not allow this book in reading apps. Sign in on the library's website and read it in the browser."


def loan_target(title: Title, downloadable: bool, urls) -> tuple[str, str]:
    """Where a loan's acquisition link points: the file itself when the licence allows reading outside the
    browser (KOReader, Thorium open it). Otherwise there is no file for an app: the entry says so and links the
    title's web page (``browser_only_link``) rather than offering a link an app would meet as a 403."""
    if downloadable:
        return urls.fulfil(title.id), book_type(title)
    return urls.web_page(title.id), "text/html"


def browser_only_note(locale: str) -> str:
    """What an app shows for a loan that can only be read in the browser."""
    return BROWSER_ONLY_EN if locale == "en" else BROWSER_ONLY_JA
