"""``/help`` and its pages (this issue owns the URL; see CONTRACT.md).

Pages: 利用案内 (``/help``), for children with furigana (``/help/kids``), よくある質問 (``/help/faq``), reading
in an app with the OPDS address and a QR code (``/help/apps``), the manuals (``/help/manuals/<name>``),
プライバシーポリシー (``/help/privacy``) and この図書館について (``/help/about``).
"""
from __future__ import annotations

import segno
from flask import Blueprint, Flask, abort, render_template, url_for
from markupsafe import Markup

from elibrary.help import manuals
from elibrary.web.transactions import runtime

bp = Blueprint("help", __name__, url_prefix="/help")


@bp.get("")
def index():
    """利用案内: how to find, borrow, read, hold and return."""
    return render_template("help/index.html", manuals=manuals.listing(_docs()))


@bp.get("/kids")
def kids():
    """A simple version for children, with furigana."""
    return render_template("help/kids.html")


@bp.get("/faq")
def faq():
    """よくある質問."""
    return render_template("help/faq.html")


@bp.get("/apps")
def apps():
    """Reading in an app: the OPDS address, a QR code for a phone, which apps and which books."""
    opds = url_for("opds.root", version=1, _external=True)
    qr = segno.make(opds, error="m").svg_data_uri(scale=5, dark="#000", light="#fff")
    return render_template("help/apps.html", opds_url=opds, opds2_url=url_for("opds.root", version=2, _external=True), qr=qr)


@bp.get("/manuals/<name>")
def manual(name: str):
    """One manual of docs/ja, rendered."""
    found = manuals.render(_docs(), name)
    if found is None:
        abort(404)
    title, html = found
    return render_template("help/manual.html", title=title, body=Markup(html))  # noqa: S704  (raw HTML is off in the renderer)


@bp.get("/privacy")
def privacy():
    """プライバシーポリシー: what personal data is kept, why, how long, who sees it."""
    settings = runtime().settings
    return render_template(
        "help/privacy.html",
        confirm_hours=int(settings.get("ELIBRARY_REGISTRATION_CONFIRM_HOURS") or 48),
        expire_days=int(settings.get("ELIBRARY_REGISTRATION_EXPIRE_DAYS") or 14),
        session_days=int(settings.get("ELIBRARY_SESSION_DAYS") or 30),
    )


@bp.get("/about")
def about():
    """この図書館について."""
    return render_template("help/about.html")


def _docs():
    return manuals.folder(runtime().settings.get("ELIBRARY_DOCS_PATH"))


def init_app(app: Flask) -> None:
    """Register the help pages."""
    app.register_blueprint(bp)
