"""The public catalog (OPAC): home, title pages and shelves; search, covers and the staff admin live
in ``search_views``, ``cover_views`` and ``admin_views`` and are registered here."""
from __future__ import annotations

from flask import Blueprint, Flask, render_template

from elibrary.catalog import browse, presentation, search_views
from elibrary.catalog.models import Audience
from elibrary.catalog.services import get_title, related_titles
from elibrary.catalog.shelves import get_shelf
from elibrary.web.auth import current_staff
from elibrary.web.transactions import db_session, runtime

bp = Blueprint("catalog", __name__)
bp.add_url_rule("/search", "search", search_views.search, methods=["GET"])


@bp.get("/")
def home():
    """New arrivals, the curated shelves and the children's corner (こどものへや)."""
    session = db_session()
    return render_template(
        "catalog/home.html",
        new_arrivals=browse.newest_titles(session, browse.HOME_NEW_ARRIVALS),
        shelves=browse.shelf_views(session, browse.public_shelves(session, children=False), browse.HOME_SHELF_ITEMS),
        kids_shelves=browse.shelf_views(session, browse.public_shelves(session, children=True), browse.KIDS_ITEMS),
        kids_new=browse.newest_titles(session, browse.KIDS_ITEMS, Audience.children),
    )


@bp.get("/titles/<int:title_id>")
def title(title_id: int):
    """One title: cover, readings, credits, description, subjects and related titles.

    Withdrawn titles are hidden from patrons (404) and shown to staff with a notice.
    """
    session = db_session()
    is_staff = bool(current_staff.is_authenticated)
    record = get_title(session, title_id, include_withdrawn=is_staff)
    if not is_staff and runtime().usage is not None:
        runtime().usage.record_view(record.id)  # counted per title per day, in memory (statistics)
    return render_template("catalog/title.html", title=record, related=related_titles(session, record, limit=6))


@bp.get("/shelves/<slug>")
def shelf(slug: str):
    """A curated shelf (特集) with all its titles."""
    session = db_session()
    record = get_shelf(session, slug)
    return render_template("catalog/shelf.html", shelf=record, titles=browse.shelf_titles(session, record))


def init_app(app: Flask) -> None:
    """Register the OPAC, search, cover and admin blueprints and the template helpers."""
    from elibrary.catalog import admin_views, cover_views

    app.register_blueprint(bp)
    app.register_blueprint(cover_views.bp)
    admin_views.init_app(app)
    presentation.init_app(app)
