"""School sign-in pages: the school sign-in page (QR scanner and school accounts) and the QR card's page.

A card's QR code opens ``/school/qr#<token>`` (the tablet's camera app) or is read by the scanner of
``/school/signin`` (``jsqr`` on the camera's frames); either way the page's script puts the token into a
form and POSTs it, so the token never appears in a URL the server or a proxy logs.
"""
from __future__ import annotations

from flask import Blueprint, Flask, Response, abort, redirect, render_template, request, url_for

from elibrary.schools import qr_reader, signin_tokens, sso
from elibrary.security.throttle import TooManyAttempts
from elibrary.web.auth import sign_in_user
from elibrary.web.i18n import current_locale
from elibrary.web.safety import safe_next_url
from elibrary.web.transactions import db_session, runtime

bp = Blueprint("schools_signin", __name__, url_prefix="/school")


def _signin_page(error: str | None = None, status: int = 200, headers: dict | None = None):
    schools = sso.schools_with_sign_in(db_session(), runtime().settings)
    body = render_template("schools/signin.html", error=error, sso_schools=schools)
    return body, status, headers or {}


@bp.get("/signin")
def signin():
    """The school sign-in page: scan the card's QR code, or sign in with the school's account."""
    return _signin_page()


@bp.get("/qr")
def qr():
    """The page a card's QR code opens; its script POSTs the token from the URL fragment."""
    return render_template("schools/qr.html")


@bp.post("/qr")
def qr_sign_in():
    """Sign in with a card's QR token (from the fragment, or read by the scanner)."""
    db, rt = db_session(), runtime()
    token = request.form.get("token", "").strip()
    keys = rt.throttle.keys(rt.cipher, "qr", token[:120] or "-", request.remote_addr)
    try:
        rt.throttle.check(keys)
        try:
            patron = signin_tokens.patron_for_token(db, rt.cipher, token)
        except signin_tokens.QrSignInRefused:
            rt.throttle.record_failure(keys, caller=db)
            raise
    except (signin_tokens.QrSignInRefused, TooManyAttempts) as exc:
        return _signin_page(exc.message(current_locale()), exc.status, exc.headers())
    rt.throttle.record_success(keys, caller=db)
    sign_in_user(patron)
    return redirect(safe_next_url(request.args.get("next")) or url_for("catalog.home"), code=303)


@bp.get("/js/qr-reader.js")
def qr_reader_file():
    """The QR reader (``jsqr`` from npm)."""
    try:
        body = qr_reader.read()
    except qr_reader.ReaderMissing:
        abort(404)
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def init_app(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
