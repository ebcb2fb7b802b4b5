"""How catalog data is shown: labels in both languages and the template helpers of the OPAC.

Registered on the Jinja environment by ``catalog.views.init_app``, so every template (base.html
included) can use them: ``locale_switch_url()``, ``url_if(endpoint)``, ``cover_url(title, size)``,
``facet_label(facet, value)``, ``role_label(code)``, ``ruby`` and ``paragraphs`` filters.
"""
from __future__ import annotations

import hashlib

from flask import Flask, request, url_for
from flask_babel import format_date
from markupsafe import Markup, escape
from werkzeug.routing import BuildError

from elibrary.catalog.isbn import format_isbn
from elibrary.catalog.models import ROLE_LABELS, Title
from elibrary.catalog.ndc import TOP_CLASSES
from elibrary.web.i18n import current_locale

AUDIENCE_LABELS = {"children": ("児童", "Children"), "ya": ("YA（ヤングアダルト）", "Young adult"), "general": ("一般", "General")}
FORMAT_LABELS = {
    "epub-reflowable": ("EPUB（リフロー）", "EPUB (reflowable)"),
    "epub-fixed": ("EPUB（固定レイアウト）", "EPUB (fixed layout)"),
    "pdf": ("PDF", "PDF"),
    "audio": ("オーディオブック", "Audiobook"),
}
LANGUAGE_LABELS = {
    "ja": ("日本語", "Japanese"), "en": ("英語", "English"), "zh": ("中国語", "Chinese"), "ko": ("韓国語", "Korean"),
    "pt": ("ポルトガル語", "Portuguese"), "es": ("スペイン語", "Spanish"), "vi": ("ベトナム語", "Vietnamese"),
    "tl": ("タガログ語", "Tagalog"), "fr": ("フランス語", "French"), "de": ("ドイツ語", "German"),
}
AVAILABILITY_LABELS = {"available": ("すぐ借りられる", "Available now"), "unavailable": ("貸出中", "On loan")}
ACCESSIBILITY_LABELS = {
    "readAloud": ("読み上げ対応", "Read aloud"),
    "ruby": ("ふりがな付き", "Furigana (ruby)"),
    "largePrint": ("大きな文字", "Large print"),
    "alternativeText": ("画像の代替テキスト", "Image descriptions"),
    "tableOfContents": ("目次", "Table of contents"),
    "displayTransformability": ("文字の大きさ・色を変更可", "Adjustable text display"),
    "highContrastDisplay": ("高コントラスト表示", "High-contrast display"),
    "synchronizedAudioText": ("音声と文字の同期", "Synchronised audio and text"),
    "ttsMarkup": ("読み上げ用の発音指定", "Text-to-speech markup"),
}
FACET_NAMES = {
    "audience": ("対象", "Audience"),
    "format": ("形式", "Format"),
    "language": ("言語", "Language"),
    "ndc1": ("分類（NDC）", "Subject class (NDC)"),
    "availability": ("貸出状況", "Availability"),
}
SORT_LABELS = {"relevance": ("関連順", "Relevance"), "newest": ("新しい順", "Newest"), "reading": ("五十音順", "Title A–Z (あいうえお)")}

MAX_CARRIED_VALUE = 500


def pick(pair: tuple[str, str]) -> str:
    """The half of a (ja, en) pair for the current locale."""
    return pair[1] if current_locale() == "en" else pair[0]


def choices(labels: dict[str, tuple[str, str]]) -> list[tuple[str, str]]:
    """(value, label) pairs in the current locale, for a ``<select>``."""
    return [(value, pick(pair)) for value, pair in labels.items()]


def facet_label(facet: str, value: str) -> str:
    """A facet value as people read it (``ndc1`` "9" → 9 文学)."""
    if facet == "ndc1":
        top = TOP_CLASSES.get(value)
        return f"{value} {top.name(current_locale())}" if top else value
    table = {"audience": AUDIENCE_LABELS, "format": FORMAT_LABELS, "language": LANGUAGE_LABELS, "availability": AVAILABILITY_LABELS}.get(facet, {})
    return pick(table[value]) if value in table else value


def role_label(code: str) -> str:
    """A contributor role in the current locale (著 / Author)."""
    return pick(ROLE_LABELS.get(code, (code, code)))


def age_label(title: Title) -> str:
    """The age range, e.g. 5〜8歳 / ages 5–8; empty when unknown."""
    low, high = title.age_min, title.age_max
    if low is None and high is None:
        return ""
    en = current_locale() == "en"
    if low is not None and high is not None:
        return f"ages {low}–{high}" if en else f"{low}〜{high}歳"
    if low is not None:
        return f"ages {low}+" if en else f"{low}歳から"
    return f"up to age {high}" if en else f"{high}歳まで"


def cover_url(title: Title, size: str = "md") -> str:
    """URL of the title's cover (or its placeholder); ``v`` changes whenever the image does."""
    if title.cover_key:
        version = hashlib.sha256(title.cover_key.encode()).hexdigest()[:16]
    else:
        version = "p" + hashlib.sha256(f"{title.title}\x00{title.subtitle}".encode()).hexdigest()[:15]
    return url_for("covers.cover", title_id=title.id, size=size, v=version)


def locale_switch_url() -> str:
    """This page in the other language (same path and query, ``lang`` replaced)."""
    other = "en" if current_locale() == "ja" else "ja"
    # Over-long values (a pasted novel in the search box) are not worth carrying over.
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang" and len(v) <= MAX_CARRIED_VALUE]
    args.append(("lang", other))
    from urllib.parse import urlencode

    return f"{request.path}?{urlencode(args)}"


def url_if(endpoint: str, **values) -> str | None:
    """``url_for`` that returns None when the endpoint is not registered (another area not installed)."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def paragraphs(text: str | None) -> Markup:
    """Plain text as escaped paragraphs: blank lines split paragraphs, single newlines become ``<br>``."""
    if not text:
        return Markup("")
    blocks = [b.strip("\n") for b in text.replace("\r\n", "\n").split("\n\n")]
    html = [Markup("<p>") + Markup("<br>\n").join(escape(line) for line in b.split("\n")) + Markup("</p>") for b in blocks if b.strip()]
    return Markup("\n").join(html)


def ruby(base: str, reading: str | None) -> Markup:
    """``base`` with its reading above it (``<ruby>``), or just ``base`` when there is no reading."""
    if not reading or reading == base:
        return escape(base)
    return Markup("<ruby>{}<rp>（</rp><rt>{}</rt><rp>）</rp></ruby>").format(base, reading)


def init_app(app: Flask) -> None:
    """Make the helpers available to every template."""
    app.jinja_env.globals.update(
        locale_switch_url=locale_switch_url,
        url_if=url_if,
        cover_url=cover_url,
        facet_label=facet_label,
        role_label=role_label,
        age_label=age_label,
        pick=pick,
        choices=choices,
        format_date=format_date,
        ACCESSIBILITY_LABELS=ACCESSIBILITY_LABELS,
        FACET_NAMES=FACET_NAMES,
        SORT_LABELS=SORT_LABELS,
        AUDIENCE_LABELS=AUDIENCE_LABELS,
        FORMAT_LABELS=FORMAT_LABELS,
        LANGUAGE_LABELS=LANGUAGE_LABELS,
        NDC_TOP_CLASSES=TOP_CLASSES,
    )
    app.jinja_env.filters["paragraphs"] = paragraphs
    app.jinja_env.filters["ruby"] = ruby
    app.jinja_env.filters["isbn"] = format_isbn
