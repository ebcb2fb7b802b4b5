"""Japanese first, English available: the locale from ``?lang=``, a cookie, then Accept-Language.

Texts are written in both languages side by side, ``t("新着の本", "New arrivals")`` in templates and
Python alike: with two languages, a gettext catalogue would only separate each text from its
translation. Flask-Babel is used for locale-aware dates and numbers (``format_date`` ...).
"""
from __future__ import annotations

from flask import Flask, g, request
from flask_babel import Babel

LOCALES = ("ja", "en")
COOKIE = "lang"


def current_locale() -> str:
    """The locale of this request ("ja" or "en")."""
    if "locale" not in g:
        g.locale = _select_locale()
    return g.locale


def t(ja: str, en: str) -> str:
    """The text for the current locale."""
    return en if current_locale() == "en" else ja


def _select_locale() -> str:
    chosen = request.args.get("lang") or request.cookies.get(COOKIE)
    if chosen in LOCALES:
        return chosen
    return request.accept_languages.best_match(LOCALES, default="ja") or "ja"


def init_app(app: Flask) -> None:
    """Set up Flask-Babel and remember an explicit ``?lang=`` choice in a cookie."""
    Babel(app, locale_selector=current_locale, default_locale="ja", default_timezone="Asia/Tokyo")

    @app.after_request
    def remember_choice(response):
        chosen = request.args.get("lang")
        if chosen in LOCALES and request.cookies.get(COOKIE) != chosen:
            response.set_cookie(COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
        return response

    app.jinja_env.globals["t"] = t

    @app.context_processor
    def locale_context():
        return {"locale": current_locale(), "other_locale": "en" if current_locale() == "ja" else "ja"}
