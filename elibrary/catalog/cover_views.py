"""Cover images: ``/covers/<title_id>/<size>?v=<version>``.

Thumbnails come from ``catalog.covers.thumbnail`` (made once, kept in storage). The URL carries a
version derived from the cover's storage key (``presentation.cover_url``), so a response for the
current version is cached for a year as immutable; a request with another version (an old page)
gets a short cache. A title without a cover gets a generated SVG placeholder with its title.
"""
from __future__ import annotations

import hashlib
import textwrap
import unicodedata

from flask import Blueprint, Response, abort, request
from markupsafe import escape

from elibrary.catalog import covers
from elibrary.catalog.models import Title, TitleStatus
from elibrary.catalog.presentation import cover_url
from elibrary.web.transactions import db_session, runtime

bp = Blueprint("covers", __name__)

SIZES = {"sm": 120, "md": 240, "lg": 480}
LONG_CACHE = "public, max-age=31536000, immutable"
SHORT_CACHE = "public, max-age=300"
# Soft backgrounds with dark text (contrast above 7:1), picked by title id.
PALETTE = (("#e8f0fa", "#0b3a66"), ("#fdf0d5", "#5a3200"), ("#e6f4ea", "#14532d"), ("#f6e8f3", "#5b1848"), ("#efeae2", "#3d3323"))


@bp.get("/covers/<int:title_id>/<size>")
def cover(title_id: int, size: str):
    """The cover thumbnail (JPEG/PNG) or a placeholder (SVG); 404 for unknown or withdrawn titles."""
    if size not in SIZES:
        abort(404)
    title = db_session().get(Title, title_id)
    if title is None or title.status != TitleStatus.active:
        abort(404)
    current = cover_url(title, size)
    etag = hashlib.sha256(current.encode()).hexdigest()[:32]
    if request.if_none_match.contains(etag):
        return _cached(Response(status=304), etag, current)
    if title.cover_key:
        data, media_type = covers.thumbnail(runtime().storage, title.cover_key, SIZES[size])
        response = Response(data, mimetype=media_type)
    else:
        response = Response(placeholder_svg(title), mimetype="image/svg+xml")
        # An SVG opened on its own is a document: it gets no scripts and no outside resources.
        response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return _cached(response, etag, current)


def _cached(response: Response, etag: str, current_url: str) -> Response:
    response.set_etag(etag)
    asked = request.full_path.rstrip("?")
    response.headers["Cache-Control"] = LONG_CACHE if asked == current_url else SHORT_CACHE
    return response


def _lines(text: str, cells: int, limit: int) -> list[str]:
    """Wrap for the placeholder: CJK characters take two cells, Latin ones one (and break at spaces)."""
    if all(unicodedata.east_asian_width(ch) not in "WF" for ch in text):
        lines = textwrap.wrap(text, cells) or [""]
    else:
        lines, current, used = [], "", 0
        for ch in text:
            width = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
            if used + width > cells:
                lines.append(current)
                current, used = "", 0
            current += ch
            used += width
        lines.append(current)
    if len(lines) > limit:
        lines = lines[:limit]
        lines[-1] = lines[-1][:-1] + "…"
    return lines


def placeholder_svg(title: Title) -> str:
    """A 2:3 cover with the title and first author in system fonts, colours picked by the title's id."""
    background, ink = PALETTE[title.id % len(PALETTE)]
    lines = _lines(title.title, 14, 5)
    author = title.contributors[0].contributor.name if title.contributors else ""
    font = "'BIZ UDPGothic','Hiragino Sans','Noto Sans CJK JP','Yu Gothic',Meiryo,sans-serif"
    text = "".join(
        f'<text x="100" y="{90 + i * 30}" text-anchor="middle" font-size="22" font-weight="bold">{escape(line)}</text>'
        for i, line in enumerate(lines)
    )
    by = f'<text x="100" y="262" text-anchor="middle" font-size="14">{escape(author[:14])}</text>' if author else ""
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 300" width="200" height="300">'
        f'<rect width="200" height="300" fill="{background}"/>'
        f'<rect x="10" y="10" width="180" height="280" fill="none" stroke="{ink}" stroke-opacity=".35" stroke-width="2"/>'
        f'<g fill="{ink}" font-family="{font}">{text}{by}</g></svg>'
    )
