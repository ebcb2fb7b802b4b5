"""Where book content is served from, and the policies that keep a book's content away from the site.

With ``ELIBRARY_CONTENT_URL`` set (e.g. ``https://books.library.example.jp``), EPUB entries and PDFs are
served only on that host, to requests carrying a content token (``content_tokens``); the site's cookies are
never sent there, and every other page is refused there. The main host refuses the content routes.
Without it (single-host mode) the same token-carrying routes are served by the main host.

Either way the book's documents are shown in frames that cannot run script (sandboxed without
``allow-scripts``; see ``ENGINE_PATCHES``) under the reader page's policy (``reader_policy``), which
allows only the engine's own files, frames only ``blob:`` documents and no form submissions.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request, url_for

from elibrary.config import ConfigError
from readers.content_tokens import HEADER

CONTENT_ENDPOINTS = frozenset({"readers.resource", "readers.pdf"})

# foliate-js sandboxes its book frames with 'allow-same-origin allow-scripts' (allow-scripts only for a
# WebKit bug: events from the parent never reach a frame without it). We serve its files with the sandbox
# chosen by the reader page (``frameSandbox`` in reader-ui.js): no allow-scripts except on WebKit.
ENGINE_PATCHES = {
    "foliate-js/paginator.js": (("this.#iframe.setAttribute('sandbox', 'allow-same-origin allow-scripts')",
                                 "this.#iframe.setAttribute('sandbox', globalThis.elibraryFrameSandbox ?? 'allow-same-origin')"),),
    "foliate-js/fixed-layout.js": (("iframe.setAttribute('sandbox', 'allow-same-origin allow-scripts')",
                                    "iframe.setAttribute('sandbox', globalThis.elibraryFrameSandbox ?? 'allow-same-origin')"),
                                   # 表示設定 → 1ページずつ: one page at a time on a landscape screen too.
                                   ("&& height > width", "&& (height > width || globalThis.elibrarySinglePage === true)")),
}

READER_POLICY = (
    "default-src 'none'; script-src {scripts} 'wasm-unsafe-eval' {importmap}; style-src 'self' 'unsafe-inline' blob:; "
    "img-src 'self' blob: data:; font-src 'self' blob: data:; media-src 'self' blob:; frame-src blob:; "
    "child-src blob:; worker-src {engine}; connect-src 'self' blob: data:{content}; manifest-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class EnginePatchFailed(RuntimeError):
    """An engine file no longer contains the text a patch replaces (the npm package changed)."""


def patch_engine_file(path: str, text: str) -> str:
    """``text`` of the engine file ``path`` with our patches applied (each must match exactly once)."""
    for old, new in ENGINE_PATCHES.get(path, ()):
        if text.count(old) != 1:
            raise EnginePatchFailed(f"{path}: expected one {old!r}")
        text = text.replace(old, new)
    return text


def check_content_url(config) -> None:
    """At start-up: the content URL is a bare http(s) origin (https in production) on a host of its own."""
    value = config.get("ELIBRARY_CONTENT_URL")
    if not value:
        return
    parts = urlsplit(str(value).strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError("ELIBRARY_CONTENT_URL must be an origin such as https://books.library.example.jp")
    if config.get("ELIBRARY_ENV") == "production" and parts.scheme != "https":
        raise ConfigError("ELIBRARY_CONTENT_URL must use https in production")
    public = config.get("ELIBRARY_PUBLIC_URL")
    if public and urlsplit(str(public)).hostname == parts.hostname:
        raise ConfigError("ELIBRARY_CONTENT_URL must name another host than ELIBRARY_PUBLIC_URL")
    cookie_domain = str(config.get("SESSION_COOKIE_DOMAIN") or "").lstrip(".").lower()
    if cookie_domain and (parts.hostname == cookie_domain or parts.hostname.endswith("." + cookie_domain)):
        raise ConfigError("the session cookie's domain (SESSION_COOKIE_DOMAIN) must not cover ELIBRARY_CONTENT_URL")


def content_origin(app: Flask | None = None) -> str | None:
    """``scheme://host[:port]`` of the content origin, or None in single-host mode."""
    value = (app or current_app).config.get("ELIBRARY_CONTENT_URL")
    if not value:
        return None
    parts = urlsplit(str(value).strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _public_origin() -> str | None:
    public = current_app.config.get("ELIBRARY_PUBLIC_URL")
    if not public:
        return None
    parts = urlsplit(str(public))
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def content_url(endpoint: str, **values) -> str:
    """The URL of a content route: on the content origin when there is one, else a path on this host."""
    path = url_for(endpoint, **values)
    origin = content_origin()
    return origin + path if origin else path


def reader_policy(import_map_hash: str) -> str:
    """The reader page's Content-Security-Policy: only our own script files, blob: frames, no forms."""
    site = request.host_url.rstrip("/")
    engine = site + url_for("readers.engine", path="x")[:-1]
    static = site + url_for("readers.static", filename="x")[:-1]
    origin = content_origin()
    return READER_POLICY.format(scripts=f"{engine} {static}", importmap=import_map_hash, engine=engine,
                                content=f" {origin}" if origin else "")


def _refused() -> Response:
    return Response("Not Found\n", status=404, mimetype="text/plain")


def gate_hosts() -> Response | None:
    """Before each request: the content host serves only content routes; the main host never serves them."""
    origin = content_origin()
    if origin is None:
        return None
    on_content_host = request.host.lower() == urlsplit(origin).netloc
    if on_content_host != (request.endpoint in CONTENT_ENDPOINTS):
        return _refused()  # plain: no template, no session, nothing of the site on the content host
    return None


def cross_origin_headers(response: Response) -> Response:
    """After a content request on the content host: CORS for the site's reader page only."""
    if request.endpoint not in CONTENT_ENDPOINTS or content_origin() is None:
        return response
    sent = request.headers.get("Origin")
    # The token is what grants access; CORS only lets the site's reader page (not the content host) read.
    allowed = _public_origin() or (sent if sent and sent.lower() != content_origin() else None)
    if allowed:
        response.headers["Access-Control-Allow-Origin"] = allowed
    response.headers["Access-Control-Allow-Headers"] = f"{HEADER}, Range"
    response.headers["Access-Control-Allow-Methods"] = "GET, HEAD"
    response.headers["Access-Control-Expose-Headers"] = "Content-Range, Accept-Ranges, Content-Length, ETag"
    response.headers["Access-Control-Max-Age"] = "7200"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.vary.add("Origin")
    return response
