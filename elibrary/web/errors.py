"""One place that turns errors into responses: problem+json, a flash message, or an error page."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, Response, flash, redirect, render_template, request
from markupsafe import escape
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from elibrary.errors import DomainError
from elibrary.web.i18n import current_locale
from elibrary.web.transactions import rollback_request_session

log = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "https://elibrary.invalid/problems/"
JSON_PREFIXES = ("/opds/", "/api/")

# Japanese and English texts for HTTP errors raised by Flask itself.
HTTP_MESSAGES = {
    400: ("リクエストが正しくありません。", "Bad request."),
    401: ("ログインが必要です。", "Sign-in required."),
    403: ("このページを見る権限がありません。", "You are not allowed to see this page."),
    404: ("ページが見つかりませんでした。", "Page not found."),
    405: ("この方法では利用できません。", "Method not allowed."),
    406: ("この形式では提供できません。", "Not acceptable."),
    413: ("ファイルが大きすぎます。", "The upload is too large."),
    429: ("アクセスが集中しています。しばらくしてからお試しください。", "Too many requests. Please wait a moment."),
    500: ("システムエラーが発生しました。しばらくしてからお試しください。", "Something went wrong. Please try again later."),
    503: ("一時的に利用できません。", "Temporarily unavailable."),
}


def wants_json() -> bool:
    """OPDS and API clients get problem+json; browsers get pages."""
    if request.path.startswith(JSON_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json", "application/problem+json"])
    return best in ("application/json", "application/problem+json")


def problem_response(status: int, code: str, title_ja: str, title_en: str, **extra):
    """An RFC 7807 ``application/problem+json`` response with the text in both languages."""
    from flask import jsonify

    locale = current_locale()
    body = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title_en if locale == "en" else title_ja,
        "status": status,
        "detail": title_ja if locale != "en" else title_en,
        "title_ja": title_ja,
        "title_en": title_en,
        **{k: v for k, v in extra.items() if isinstance(v, (str, int, float, bool)) or v is None},
    }
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _same_site_referrer() -> str | None:
    ref = request.referrer
    if not ref:
        return None
    parts = urlsplit(ref)
    if parts.netloc and parts.netloc != request.host:
        return None
    return ref


DATABASE_RETRY_SECONDS = 30
DATABASE_DOWN_PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>一時的に利用できません / Temporarily unavailable</title></head>
<body><main><h1>ただいま一時的にご利用いただけません</h1>
<p>システムの一部が応答していません。しばらくしてから、もう一度お試しください。</p>
<h1 lang="en">The service is briefly unavailable</h1>
<p lang="en">Part of the system is not answering. Please try again in a little while.</p>
<p><a href="{home}">トップページ / Home</a></p></main></body></html>
"""


def database_unavailable(exc: Exception) -> Response:
    """503 with ``Retry-After`` when the database does not answer (detail to the log, never to the client).

    The page stands alone: the site's frame would ask the database who is signed in.
    """
    try:
        rollback_request_session()
    except Exception:  # the connection is already gone
        pass
    log.error("database unavailable on %s %s: %s", request.method, request.path, type(exc).__name__, exc_info=exc)
    ja = "ただいま一時的にご利用いただけません。しばらくしてからお試しください。"
    en = "The service is briefly unavailable. Please try again in a little while."
    if wants_json():
        response = problem_response(503, "database-unavailable", ja, en)
    else:
        response = Response(DATABASE_DOWN_PAGE.format(home=escape(request.script_root + "/")), status=503, mimetype="text/html")
    response.headers["Retry-After"] = str(DATABASE_RETRY_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def register_error_handlers(app: Flask) -> None:
    """Install the handlers for domain errors, HTTP errors and unexpected exceptions."""

    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(InterfaceError, database_unavailable)

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        rollback_request_session()
        locale = current_locale()
        if wants_json():
            response = problem_response(exc.status, exc.code, exc.message_ja, exc.message_en, **exc.detail)
            response.headers.update(exc.headers())
            return response
        back = _same_site_referrer()
        if request.method == "POST" and back and exc.status < 429:
            flash(exc.message(locale), "error")
            return redirect(back, code=303)
        return render_template("error.html", status=exc.status, message=exc.message(locale)), exc.status, exc.headers()

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        rollback_request_session()
        status = exc.code or 500
        ja, en = HTTP_MESSAGES.get(status, (exc.name, exc.name))
        if wants_json():
            response = problem_response(status, f"http-{status}", ja, en)
        else:
            response = app.make_response((render_template("error.html", status=status, message=en if current_locale() == "en" else ja), status))
        for header in ("WWW-Authenticate", "Allow", "Retry-After", "Link"):
            if exc.get_response().headers.get(header):
                response.headers[header] = exc.get_response().headers[header]
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        rollback_request_session()
        log.exception("unhandled error on %s %s", request.method, request.path)
        ja, en = HTTP_MESSAGES[500]
        if wants_json():
            return problem_response(500, "internal", ja, en)
        return render_template("error.html", status=500, message=en if current_locale() == "en" else ja), 500
