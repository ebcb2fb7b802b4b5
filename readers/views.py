"""The readers' web layer: the reader pages, book resources one at a time, reading positions, engines.

Every resource request re-checks the loan (``services.grant_reading``), so a returned or expired loan
closes all URLs at once; responses are ``private, no-cache`` so even a cached copy is revalidated.
"""
from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, render_template, request, send_from_directory, url_for
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from elibrary.books import open_epub, read_package
from elibrary.errors import DomainError, Forbidden, InvalidInput
from elibrary.patrons.models import Patron
from elibrary.web.auth import current_patron
from elibrary.web.transactions import db_session, runtime
from readers import content_tokens, services
from readers.content import TEXT_TYPES, content_type_for, rewrite_resource
from readers.content_origin import (
    ENGINE_PATCHES,
    check_content_url,
    content_origin,
    content_url,
    cross_origin_headers,
    gate_hosts,
    patch_engine_file,
    reader_policy,
)

bp = Blueprint("readers", __name__, url_prefix="/read", template_folder="templates", static_folder="static")
ENGINES = Path(__file__).resolve().parent / "node_modules"
# Only these parts of node_modules are served, and only these file types.
ENGINE_DIRS = ("foliate-js/", "pdfjs-dist/build/", "pdfjs-dist/web/", "pdfjs-dist/cmaps/",
               "pdfjs-dist/standard_fonts/", "pdfjs-dist/wasm/", "construct-style-sheets-polyfill/dist/")
ENGINE_SUFFIXES = (".js", ".mjs", ".css", ".bcmap", ".pfb", ".ttf", ".wasm", ".svg", ".png", ".gif")

# A book resource opened directly gets an opaque origin and no scripts at all.
RESOURCE_CSP = ("sandbox; default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                "font-src 'self' data:; media-src 'self'; script-src 'none'")


def _import_map() -> tuple[Markup, str]:
    """The engines' bare module names mapped to our engine route (HTML-safe JSON), and the CSP hash allowing it."""
    engine = url_for("readers.engine", path="x")[:-1]
    body = htmlsafe_json_dumps({"imports": {"construct-style-sheets-polyfill":
                                            engine + "construct-style-sheets-polyfill/dist/adoptedStyleSheets.js"}})
    digest = base64.b64encode(hashlib.sha256(str(body).encode()).digest()).decode()
    return body, f"'sha256-{digest}'"


def _token_key() -> bytes:
    return content_tokens.token_key(current_app.secret_key)


def _content_token(grant: services.ReadingGrant) -> str:
    return content_tokens.issue(_token_key(), grant.title.id, grant.loan.id if grant.loan is not None else None)


def _grant(title_id: int) -> services.ReadingGrant:
    return services.grant_reading(db_session(), current_patron, title_id)


def _patron() -> Patron | None:
    return current_patron._get_current_object() if current_patron.is_authenticated else None


@lru_cache(maxsize=64)
def _package_summary(storage_key: str) -> dict:
    """Per stored file (keys contain the content hash, so entries never go stale): types, sizes, layout."""
    with open_epub(runtime().storage.open(storage_key)) as archive:
        package = read_package(archive)
        sizes = {name: archive.size(name) for name in archive.names}
    return {
        "types": {item.path: item.media_type for item in package.manifest.values()},
        "sizes": sizes,
        "dir": "rtl" if package.is_rtl else "ltr",
        "layout": package.rendition.layout,
        "title": package.title,
        "language": package.language,
        "has_media_overlays": any(item.media_overlay for item in package.manifest.values()),
    }


@bp.get("/<int:title_id>")
def reader(title_id: int):
    """The reader page for the title (EPUB or PDF), with the patron's saved position."""
    grant = _grant(title_id)
    patron = _patron()
    position = services.position_of(db_session(), patron, grant) if patron else None
    data = {
        "titleId": title_id,
        "title": grant.title.title,
        "format": "pdf" if grant.is_pdf else "epub",
        "base": content_url("readers.resource", title_id=title_id, entry="x")[:-1],
        "pdf": content_url("readers.pdf", title_id=title_id),
        "contentToken": _content_token(grant),
        "contentHeader": content_tokens.HEADER,
        "tokenTtl": content_tokens.TTL_SECONDS,
        "tokenUrl": url_for("readers.content_token", title_id=title_id),
        "positionUrl": url_for("readers.position", title_id=title_id) if patron else None,
        "engine": url_for("readers.engine", path="x")[:-1],
        "position": _position_json(position),
        "dir": grant.title.page_progression or "ltr",
        "storageKey": f"elibrary-reader-{title_id}",
    }
    if not grant.is_pdf:
        summary = _package_summary(grant.book_file.storage_key)
        data.update(sizes=summary["sizes"], dir=summary["dir"], layout=summary["layout"],
                    mediaOverlays=summary["has_media_overlays"], language=summary["language"])
    import_map, import_map_hash = _import_map()
    response = Response(render_template("readers/reader.html", grant=grant, is_pdf=grant.is_pdf, book_data=data,
                                        import_map=import_map))
    response.headers["Content-Security-Policy"] = reader_policy(import_map_hash)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _position_json(position) -> dict | None:
    if position is None:
        return None
    return {"location": position.location, "fraction": position.fraction, "bookmarks": position.bookmarks,
            "revision": position.revision, "updated_at": position.updated_at.isoformat()}


@bp.get("/<int:title_id>/content-token")
def content_token(title_id: int):
    """A fresh content token for the open reader page (tokens last minutes; the page renews them)."""
    grant = _grant(title_id)
    response = jsonify({"token": _content_token(grant), "ttl": content_tokens.TTL_SECONDS})
    response.headers["Cache-Control"] = "no-store"
    return response


def _plain(status: int) -> Response:
    """A bare refusal for the content routes: no template, so nothing touches the session."""
    return Response(f"{status}\n", status=status, mimetype="text/plain")


def _content_grant(title_id: int) -> services.ReadingGrant | Response:
    """The grant for a content request from its token (the content host knows no sessions).

    Single-host mode still accepts the signed-in session when no token is sent (the engine always sends one).
    """
    token = request.headers.get(content_tokens.HEADER)
    try:
        if token is None and content_origin() is None:
            return _grant(title_id)
        claims = content_tokens.verify(_token_key(), token, title_id)
        return services.grant_for_content(db_session(), title_id, claims.loan_id)
    except content_tokens.BadContentToken:
        return _plain(401)
    except DomainError as error:
        return _plain(error.status)


@bp.get("/<int:title_id>/r/<path:entry>")
def resource(title_id: int, entry: str):
    """One file from inside the stored EPUB, with its content type, ETag and byte ranges."""
    grant = _content_grant(title_id)
    if isinstance(grant, Response):
        return grant
    if grant.is_pdf:
        return _plain(404)
    book_file = grant.book_file
    archive = open_epub(runtime().storage.open(book_file.storage_key))
    try:
        info = archive.info(entry)
        etag = f"{book_file.sha256[:20]}-{info.CRC:08x}"
        if request.if_none_match.contains(etag):
            archive.close()
            return _resource_headers(Response(status=304), etag)
        content_type = content_type_for(entry, _package_summary(book_file.storage_key)["types"].get(entry, ""))
        if content_type in TEXT_TYPES or info.file_size <= 64 * 1024:
            data = rewrite_resource(archive.read_bytes(entry), content_type)
            archive.close()
            response = Response(data, mimetype=content_type)
            response = response.make_conditional(request, accept_ranges=True, complete_length=len(data))
            return _resource_headers(response, etag)
        return _resource_headers(_streamed(archive, entry, info.file_size, content_type), etag)
    except BaseException:
        archive.close()
        raise


def _streamed(archive, entry: str, size: int, content_type: str) -> Response:
    """Large media in 64 KiB chunks (bounded memory), honouring a single byte range."""
    byte_range = request.range
    start, end, status = 0, size, 200
    if byte_range is not None:
        bounds = byte_range.range_for_length(size)
        if bounds is None:
            archive.close()
            response = Response(status=416)
            response.headers["Content-Range"] = f"bytes */{size}"
            return response
        start, end, status = bounds[0], bounds[1], 206
    def chunks():
        try:
            yield from archive.iter_range(entry, start, end)
        finally:
            archive.close()

    response = Response(chunks(), status=status, mimetype=content_type, direct_passthrough=True)
    response.content_length = end - start
    if status == 206:
        response.headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    response.headers["Accept-Ranges"] = "bytes"
    response.call_on_close(archive.close)
    return response


def _resource_headers(response: Response, etag: str) -> Response:
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Content-Security-Policy"] = RESOURCE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/<int:title_id>/pdf")
def pdf(title_id: int):
    """The PDF, by byte ranges for pdf.js (it asks only for the parts it shows)."""
    grant = _content_grant(title_id)
    if isinstance(grant, Response):
        return grant
    if not grant.is_pdf:
        return _plain(404)
    book_file = grant.book_file
    storage = runtime().storage
    size = storage.size(book_file.storage_key)
    etag = book_file.sha256[:32]
    if request.if_none_match.contains(etag):
        return _resource_headers(Response(status=304), etag)
    stream = storage.open(book_file.storage_key)
    byte_range = request.range
    start, end, status = 0, size, 200
    if byte_range is not None:
        bounds = byte_range.range_for_length(size)
        if bounds is None:
            stream.close()
            return Response(status=416, headers={"Content-Range": f"bytes */{size}"})
        start, end, status = bounds[0], bounds[1], 206

    def chunks():
        try:
            stream.seek(start)
            left = end - start
            while left > 0:
                chunk = stream.read(min(65536, left))
                if not chunk:
                    break
                left -= len(chunk)
                yield chunk
        finally:
            stream.close()

    response = Response(chunks(), status=status, mimetype="application/pdf", direct_passthrough=True)
    response.content_length = end - start
    response.headers["Accept-Ranges"] = "bytes"
    if status == 206:
        response.headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    return _resource_headers(response, etag)


@bp.route("/<int:title_id>/position", methods=["GET", "PUT"])
def position(title_id: int):
    """The signed-in patron's reading position and bookmarks for the title (JSON)."""
    patron = _patron()
    if patron is None:
        raise Forbidden("しおりを保存するにはログインしてください。", "Sign in to keep your place.")
    grant = _grant(title_id)
    session = db_session()
    if request.method == "PUT":
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("location"), str):
            # Invalid JSON must never reset the saved place to the start of the book.
            raise InvalidInput("位置情報が正しくありません。", "The reading position is not valid JSON.", field="location")
        saved = services.save_position(session, patron, grant, body["location"], body.get("fraction", 0),
                                       body.get("bookmarks"))
        return jsonify(_position_json(saved))
    return jsonify(_position_json(services.position_of(session, patron, grant)) or {})


@bp.get("/<int:title_id>/download")
def download(title_id: int):
    """The whole file, for open titles and licences that allow a DRM-free download."""
    grant = _grant(title_id)
    if not grant.may_download:
        raise Forbidden("この本はダウンロードできません。ブラウザで読んでください。",
                        "This book cannot be downloaded; read it in the browser.")
    book_file = grant.book_file
    extension = "pdf" if grant.is_pdf else "epub"
    stream = runtime().storage.open(book_file.storage_key)
    response = Response(_file_chunks(stream), mimetype=book_file.media_type, direct_passthrough=True)
    response.content_length = book_file.size
    response.headers["Content-Disposition"] = f'attachment; filename="book-{title_id}.{extension}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _file_chunks(stream):
    try:
        while chunk := stream.read(65536):
            yield chunk
    finally:
        stream.close()


@bp.get("/engine/<path:path>")
def engine(path: str):
    """Files of the npm reading engines (foliate-js, pdf.js), straight from ``readers/node_modules``."""
    if not path.startswith(ENGINE_DIRS) or not path.endswith(ENGINE_SUFFIXES) or ".." in path:
        abort(404)
    patched = _patched_engine_file(path)
    if patched is not None:
        response = Response(patched, mimetype="text/javascript")
        response.cache_control.public = True
        response.cache_control.max_age = 3600
    else:
        response = send_from_directory(ENGINES, path, max_age=3600)
    if path.endswith((".mjs", ".js")):
        response.mimetype = "text/javascript"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@lru_cache(maxsize=8)
def _patched_engine_file(path: str) -> str | None:
    """The engine file with our patches (``content_origin.ENGINE_PATCHES``), or None if it needs none."""
    if path not in ENGINE_PATCHES:
        return None
    return patch_engine_file(path, (ENGINES / path).read_text(encoding="utf-8"))


def title_actions_context(title) -> dict:
    """Whether the OPAC title page shows 読む / ダウンロード for ``title`` (used by the partial)."""
    session = db_session()
    book_file = services.readable_file(session, title.id)
    if book_file is None:
        return {"readable": False}
    is_open = services.is_open_title(session, title.id)
    try:
        grant = services.grant_reading(session, current_patron, title.id)
    except Forbidden:
        grant = None
    return {"readable": True, "is_open": is_open, "grant": grant,
            "read_url": url_for("readers.reader", title_id=title.id),
            "download_url": url_for("readers.download", title_id=title.id) if grant and grant.may_download else None}


def init_app(app: Flask) -> None:
    """Register the blueprint, the content host's gate and headers, and the partial's helper (the loan-end hook is wired in ``elibrary.wiring``)."""
    check_content_url(app.config)
    app.before_request(gate_hosts)
    app.after_request(cross_origin_headers)
    app.register_blueprint(bp)
    app.jinja_env.globals["reader_actions"] = title_actions_context

