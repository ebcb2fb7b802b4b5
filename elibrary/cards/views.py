"""マイページ's digital library card: the card number in large digits and its NW-7 barcode."""
from __future__ import annotations

from flask import Blueprint, Flask, Response, render_template
from markupsafe import Markup

from elibrary.cards import nw7
from elibrary.patrons.contact import card_number_of
from elibrary.web.auth import current_patron, patron_required
from elibrary.web.i18n import t
from elibrary.web.transactions import runtime

bp = Blueprint("cards", __name__)
PROVISIONAL = ("provisional",)


def _card():
    number = card_number_of(current_patron, runtime().cipher)
    card_format = nw7.CardFormat.from_settings(runtime().settings)
    try:
        symbol = card_format.symbol(number)
    except nw7.BarcodeError:
        symbol = None  # a number NW-7 cannot carry: the page shows the digits only
    return number, symbol


@bp.get("/card")
@patron_required
def card():
    """The digital library card (デジタル利用者カード) to show at the counter."""
    number, symbol = _card()
    drawing = Markup(nw7.svg(symbol, title=t("利用者カードのバーコード", "Library card barcode"))) if symbol else None  # noqa: S704 - our own drawing, title escaped
    provisional = current_patron.category in PROVISIONAL or current_patron.source in PROVISIONAL
    return render_template("cards/card.html", number=number, barcode=drawing, provisional=provisional)


@bp.get("/card.svg")
@patron_required
def card_svg():
    """The barcode alone, as an SVG image."""
    _, symbol = _card()
    if symbol is None:
        return Response(status=404)
    response = Response(nw7.svg(symbol, title=t("利用者カードのバーコード", "Library card barcode")), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


def init_app(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
