"""Security headers on every response, without overriding what a view chose for itself.

A view that sets its own ``Content-Security-Policy`` (the readers, covers) or ``Cache-Control`` keeps it.
Every other page gets a strict policy: only this site's scripts, styles and images, no plug-ins, no
framing (``frame-ancestors 'none'`` and ``X-Frame-Options``), forms posting only here. Anything shown to
a signed-in patron or to staff is ``no-store``: library terminals are shared, and the back button or
the browser cache must not show the next user someone's shelf, reading history or a patron record.
"""
from __future__ import annotations

import base64
import hashlib

from flask import Flask, Response, request
from flask_login import current_user

SITE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def inline_script_policy(*scripts: str, connect: tuple[str, ...] = ()) -> str:
    """The site policy that also allows exactly these inline scripts (by hash) and ``connect`` origins.

    For a page that must carry an import map (an inline ``<script type="importmap">``): no 'unsafe-inline'.
    """
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'" for body in scripts)
    policy = SITE_CSP.replace("script-src 'self';", f"script-src 'self' {hashes};")
    return policy.replace("connect-src 'self';", "connect-src " + " ".join(("'self'", *connect)) + ";")


HSTS = "max-age=63072000"  # two years; subdomains are left to the city's own policy
PERSONAL_PREFIXES = ("/staff", "/shelf", "/admin", "/import")


def apply(response: Response, *, production: bool) -> Response:
    """Add the site-wide headers to ``response`` (see the module docstring)."""
    headers = response.headers
    if "Content-Security-Policy" not in headers:
        headers["Content-Security-Policy"] = SITE_CSP
        headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")  # title URLs are reading records: never sent to other sites
    if production:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if "Cache-Control" not in headers and _personal():
        headers["Cache-Control"] = "no-store"
    return response


def _personal() -> bool:
    if request.path.startswith(PERSONAL_PREFIXES):
        return True
    try:
        return bool(current_user.is_authenticated)
    except Exception:  # the user could not be loaded (database down): nothing personal was shown
        return False


def init_app(app: Flask) -> None:
    """Register the header hook (it runs last, after every view's and blueprint's own hooks)."""
    production = app.config.get("ELIBRARY_ENV") == "production"

    @app.after_request
    def security_headers(response: Response) -> Response:
        return apply(response, production=production)
