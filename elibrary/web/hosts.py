"""Where requests come from and which host they are for: trusted proxies and the public base URL.

``ELIBRARY_TRUSTED_PROXIES`` (a count) lets werkzeug's ``ProxyFix`` take the client address and scheme
from that many ``X-Forwarded-For``/``-Proto`` hops, so per-address limits see real clients behind the
reverse proxy and never a header a client forged past it.

``ELIBRARY_PUBLIC_URL`` fixes the scheme, host and path prefix of every absolute link (OPDS feeds, the
authentication document, registration e-mails, the feed cache key): the request's ``Host`` header is
never trusted for them. In production a request for any other host is refused (400), except the
book-content host of ``ELIBRARY_CONTENT_URL`` and ``/healthz`` (load balancers ask by address).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from werkzeug.middleware.proxy_fix import ProxyFix

UNKNOWN_HOST_BODY = "Unknown host / 不明なホスト名です\n".encode()
ALWAYS_ANSWERED = ("/healthz",)


class PublicURL:
    """WSGI middleware: requests for the public host are seen by the app as requests to ``public_url``."""

    def __init__(self, app: Callable, public_url: str, *, refuse_other_hosts: bool, other_hosts: Iterable[str] = ()) -> None:
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"ELIBRARY_PUBLIC_URL must be an absolute http(s) URL, got {public_url!r}")
        self.app = app
        self.scheme = parts.scheme
        self.host = parts.netloc.lower()
        self.script_name = parts.path.rstrip("/")
        self.refuse_other_hosts = refuse_other_hosts
        self.other_hosts = {h.lower() for h in other_hosts if h}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        host = (environ.get("HTTP_HOST") or "").lower()
        if host in self.other_hosts:
            return self.app(environ, start_response)  # the content origin keeps its own name
        if self.refuse_other_hosts and not _same_host(host, self.host, self.scheme) and environ.get("PATH_INFO") not in ALWAYS_ANSWERED:
            start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(UNKNOWN_HOST_BODY)))])
            return [UNKNOWN_HOST_BODY]
        environ["HTTP_HOST"] = self.host
        environ["wsgi.url_scheme"] = self.scheme
        if self.script_name and not environ.get("SCRIPT_NAME"):
            path = environ.get("PATH_INFO", "")
            if path.startswith(self.script_name + "/") or path == self.script_name:
                environ["PATH_INFO"] = path[len(self.script_name):]
            environ["SCRIPT_NAME"] = self.script_name
        return self.app(environ, start_response)


def _same_host(host: str, public: str, scheme: str) -> bool:
    default_port = ":443" if scheme == "https" else ":80"
    return host == public or host == public + default_port or host + default_port == public


def wrap(app, settings: Mapping[str, Any]) -> None:
    """Install the proxy and public-URL middleware on the Flask ``app`` from its settings."""
    proxies = int(settings.get("ELIBRARY_TRUSTED_PROXIES") or 0)
    public_url = settings.get("ELIBRARY_PUBLIC_URL")
    if public_url:
        content_url = settings.get("ELIBRARY_CONTENT_URL")
        others = [urlsplit(content_url).netloc] if content_url else []
        app.wsgi_app = PublicURL(app.wsgi_app, public_url, refuse_other_hosts=settings.get("ELIBRARY_ENV") == "production", other_hosts=others)
        parts = urlsplit(public_url)
        # url_for(..., _external=True) outside a request (e-mails from jobs, the CLI) uses these.
        app.config["SERVER_NAME"] = parts.netloc
        app.config["PREFERRED_URL_SCHEME"] = parts.scheme
        app.config["APPLICATION_ROOT"] = parts.path.rstrip("/") or "/"
    if proxies > 0:
        # Outermost: the forwarded address and scheme are taken before anything else looks at them.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
