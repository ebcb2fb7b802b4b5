"""Request-safety helpers: open-redirect protection and CSRF for forms."""
from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from flask import Flask, abort, request, session

CSRF_FIELD = "csrf_token"


def safe_next_url(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def csrf_token() -> str:
    """The session's CSRF token, created on first use."""
    token = session.get("_csrf")
    if token is None:
        token = secrets.token_urlsafe(32)
        session["_csrf"] = token
    return token


def rotate_csrf_token() -> None:
    """Forget the session's CSRF token (at sign-in: a token seen before sign-in is never worth anything after)."""
    session.pop("_csrf", None)


def csrf_exempt(view):
    """Mark a view that checks its own request signature (no cookie session to protect)."""
    view.csrf_exempt = True
    return view


def init_app(app: Flask) -> None:
    """Check the token (form field or ``X-CSRF-Token`` header) on every unsafe cookie-authenticated request."""
    app.jinja_env.globals["csrf_token"] = csrf_token

    @app.before_request
    def check_csrf():
        if request.method in ("GET", "HEAD", "OPTIONS") or app.config.get("ELIBRARY_CSRF_DISABLED"):
            return
        if request.authorization is not None and "_user_id" not in session:
            # Authenticated by the header alone (OPDS apps): a browser never attaches it to a forged
            # request. With a signed-in cookie session the header proves nothing: check the token.
            return
        if getattr(app.view_functions.get(request.endpoint), "csrf_exempt", False):
            return  # a machine endpoint that authenticates each request itself (LINE's signed webhook)
        if request.path.startswith("/opds/") and "_user_id" not in session:
            return  # no cookie sign-in to abuse; the OPDS view answers 401 with the auth document
        sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token", "")
        expected = session.get("_csrf")
        if not expected or not hmac.compare_digest(sent, expected):
            abort(400, description="CSRF token missing or wrong")
