"""The text-only mode (テキスト版) for screen-reader users: search, a title, borrowing, マイ本棚 and a
reflowable book's text as plain HTML, no scripts at all (as Japanese e-libraries offer).

The book text needs the same right as the reader (``grant_reading``: an open title, or the patron's
current loan). It is served from the site itself, not the content host: the page holds no book markup,
only text rebuilt from a short list of elements without attributes (``readers.plain_text``), under a
policy that allows no scripts, frames or outside resources.
"""
from __future__ import annotations

from flask import Blueprint, Response, render_template, request, url_for
from flask_login import current_user

from elibrary.catalog import browse
from elibrary.catalog.models import Title, TitleStatus
from elibrary.errors import NotFound
from elibrary.lending import availability as availability_queries
from elibrary.search.base import MAX_QUERY_LENGTH, SearchError, SearchQuery
from elibrary.web.auth import current_patron, patron_required
from elibrary.web.transactions import db_session, runtime
from readers import plain_text, services

bp = Blueprint("text", __name__, url_prefix="/text", template_folder="templates")
PAGE_SIZE = 20
TEXT_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
               "frame-ancestors 'none'")


def _page(template: str, status: int = 200, **context) -> Response:
    response = Response(render_template(template, **context), status=status)
    response.headers["Content-Security-Policy"] = TEXT_POLICY
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/")
def search():
    """Search the catalog; results as a plain list of links."""
    text = request.args.get("q", "").strip()[:MAX_QUERY_LENGTH]
    titles, total, unavailable = [], 0, False
    if text:
        try:
            result = runtime().search.search(SearchQuery(text=text, limit=PAGE_SIZE))
            titles, total = browse.titles_in_order(db_session(), result.ids), result.total
        except SearchError:
            unavailable = True
    return _page("text/search.html", 503 if unavailable else 200, q=text, titles=titles, total=total,
                 unavailable=unavailable)


@bp.get("/titles/<int:title_id>")
def title(title_id: int):
    """One title: who wrote it, whether it can be borrowed now, and the buttons to borrow or read it."""
    session = db_session()
    book = session.get(Title, title_id)
    if book is None or book.status != TitleStatus.active:
        raise NotFound()
    patron = current_patron._get_current_object() if current_patron.is_authenticated else None
    state = availability_queries.availability(session, title_id, patron)
    readable = services.readable_file(session, title_id) is not None
    return _page("text/title.html", title=book, state=state, readable=readable,
                 patron=patron, signed_in=current_user.is_authenticated)


@bp.get("/shelf")
@patron_required
def shelf():
    """マイ本棚: loans with links to their text, and holds."""
    return _page("text/shelf.html", shelf=availability_queries.shelf(db_session(), current_patron))


@bp.get("/read/<int:title_id>")
def read(title_id: int):
    """The book's text, chapter by chapter (the same right as the reader; 403/404 otherwise)."""
    grant = services.grant_reading(db_session(), current_patron, title_id)
    chapters, reason = [], ""
    if grant.is_pdf:
        reason = "pdf"
    else:
        try:
            chapters = plain_text.chapters(runtime().storage.open(grant.book_file.storage_key))
        except plain_text.NotReflowable:
            reason = "fixed"
    return _page("text/read.html", grant=grant, chapters=chapters, reason=reason,
                 reader_url=url_for("readers.reader", title_id=title_id))


def init_app(app) -> None:
    """Register the text-only mode."""
    app.register_blueprint(bp)
