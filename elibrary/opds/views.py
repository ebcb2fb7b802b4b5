"""OPDS endpoints: ``/opds/`` (negotiated), ``/opds/v1/…`` (Atom), ``/opds/v2/…`` (JSON), ``/opds/auth``.

Each view parses the request, asks ``feeds``/``circulation`` or one lending service, and hands plain
objects to ``v1`` or ``v2``. Errors are domain errors rendered as problem+json by ``web.errors``;
a missing or wrong HTTP Basic login is a 401 carrying the authentication document (``auth``).
"""
from __future__ import annotations

import json
from dataclasses import replace
from functools import wraps
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, g, request, send_file
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from elibrary.catalog.models import Title, TitleContributor, TitleStatus
from elibrary.db import utcnow
from elibrary.errors import Forbidden, NotFound
from elibrary.lending import grants as reading
from elibrary.lending import services as lending
from elibrary.lending.errors import NotAvailable
from elibrary.opds import auth, circulation, entries, feeds, v1, v2
from elibrary.opds.caches import KeptPage
from elibrary.opds.negotiation import ACQUISITION_V1, ENTRY_V1, FEED_V2, NAVIGATION_V1, OPENSEARCH, PUBLICATION_V2, preferred_version
from elibrary.opds.urls import Urls
from elibrary.web.errors import problem_response
from elibrary.web.i18n import current_locale
from elibrary.web.transactions import db_session, runtime

bp = Blueprint("opds", __name__, url_prefix="/opds")
V = "/v<int(min=1, max=2):version>"
STATIC = Path(__file__).parent / "static"


def _cache() -> feeds.TTLCache:
    return runtime().opds.counts


def shared_cache(view):
    """GETs of public feeds are kept for ``ELIBRARY_OPDS_FEED_CACHE_SECONDS`` per process.

    An anonymous response is the same for every anonymous client (no patron state), so a burst of apps
    opening the catalog costs one render. A signed-in patron's page differs from it only in the titles
    they have on loan or on hold: when the page shows none of those (``KeptPage.title_ids``), the patron
    gets the shared page, byte for byte what an anonymous client gets; otherwise a page kept for that
    patron only, used while their loans and holds are as they were (``KeptPage.stamp``), so a borrow or a
    return shows at once. Reading apps send credentials with every request, so without the shared page
    every patron would render every page once per lifetime (issue 18: eight apps searching rendered
    eighty pages per worker). A kept page is served to a signed-in patron only if none of its titles was
    lent since it was rendered; anonymous clients may see availability lag by the page's lifetime.
    Borrowing always checks the live state. A signed-in request reads all this in one statement
    (``circulation.patron_state``) after its credentials are checked.
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        caches = runtime().opds
        shared_key = (request.host_url, request.full_path, current_locale())
        shared = caches.pages.peek(shared_key)
        if not (request.headers.get("Authorization") or current_user.is_authenticated):
            if shared is not None:
                return Response(shared.body, content_type=shared.content_type)
            return _render_and_keep(view, args, kwargs, circulation.lending_watermark(db_session()), shared_key)
        patron_id = auth.current_patron_id()  # verified (or a 401) before anything is served
        if patron_id is None:
            return view(*args, **kwargs)  # staff signed in through the browser: nothing kept
        own_key = (patron_id, *shared_key)
        own = caches.patron_pages.peek(own_key)
        since = min((page.watermark for page in (shared, own) if page is not None), default=None)
        state = circulation.patron_state(db_session(), patron_id, since)
        if shared is not None and shared.title_ids.isdisjoint(state.stamp.title_ids):
            hit = shared
        else:
            hit = own if own is not None and own.stamp == state.stamp else None  # a page showing their own loans or holds
        if hit is not None and not state.lent_since(hit.watermark, hit.title_ids):
            return Response(hit.body, content_type=hit.content_type)
        return _render_and_keep(view, args, kwargs, state.newest, shared_key, own_key, state.stamp)

    return wrapper


def _render_and_keep(view, args, kwargs, watermark: int, shared_key: tuple, own_key: tuple | None = None,
                     stamp: circulation.PatronStamp | None = None) -> Response:
    """Render the page; keep it shared when it shows none of the patron's (``stamp``) titles, else for them only.

    ``watermark`` is the newest lending event read before rendering, so a loan made meanwhile is seen next time.
    """
    response = view(*args, **kwargs)
    shown = g.get("_opds_shown_titles")
    if response.status_code == 200 and shown is not None:
        page = KeptPage(response.get_data(), response.content_type, shown, watermark)
        caches = runtime().opds
        if stamp is None or shown.isdisjoint(stamp.title_ids):
            caches.pages.put(shared_key, page)  # none of the patron's own titles: the anonymous page
        else:
            caches.patron_pages.put(own_key, replace(page, stamp=stamp))
    return response


def _shows(title_ids) -> None:
    """Declare the titles a response shows the circulation of (``shared_cache`` keeps only declared pages)."""
    g._opds_shown_titles = frozenset(title_ids)


def _page_size() -> int:
    return int(current_app.config.get("ELIBRARY_OPDS_PAGE_SIZE") or feeds.PAGE_SIZE)


def _xml(body: bytes, mimetype: str, status: int = 200) -> Response:
    return Response(body, status=status, content_type=mimetype)


def _json(data: dict, mimetype: str = FEED_V2, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False, separators=(",", ":")), status=status, content_type=mimetype)


def _patron_id() -> int | None:
    return auth.current_patron_id()


@bp.before_request
def _check_credentials() -> None:
    """Credentials sent with any request are checked, so a wrong PIN is a 401 even on a public feed."""
    if request.authorization is not None or request.headers.get("Authorization"):
        auth.current_patron_id()


@bp.after_request
def _headers(response: Response) -> Response:
    """Never compressed here (KOReader sends ``Accept-Encoding: identity``); personal feeds never cached."""
    response.headers["Link"] = response.headers.get("Link") or f'<{Urls.for_request(2).auth_document()}>; rel="{auth.AUTH_REL}"'
    if request.authorization is not None or response.status_code == 401:
        response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.errorhandler(auth.AuthenticationRequired)
def _authentication_required(exc: auth.AuthenticationRequired):
    from elibrary.web.transactions import rollback_request_session

    rollback_request_session()
    return auth.document_response(401)


# --- roots and navigation ---------------------------------------------------------------------


@bp.get("")
@bp.get("/")
def negotiated_root():
    """The catalog root in the version the client's ``Accept`` prefers (KOReader gets OPDS 2)."""
    version = preferred_version(request.headers.get("Accept"))
    if version is None:
        return problem_response(
            406, "not-acceptable", "OPDS 1.2(Atom)または OPDS 2.0(JSON)のみ提供しています。", "Only OPDS 1.2 (Atom) and OPDS 2.0 (JSON) are offered."
        )
    response = _navigation(version, feeds.root_feed(db_session()))  # not the cached view: its key ignores Accept
    response.headers["Vary"] = "Accept"
    response.headers["Content-Location"] = Urls.for_request(version).root
    return response


@bp.get(V + "/")
@shared_cache
def root(version: int):
    """Root navigation feed."""
    return _navigation(version, feeds.root_feed(db_session()))


@bp.get(V + "/nav/<name>")
@shared_cache
def navigation(version: int, name: str):
    """Navigation by NDC class, by audience, or the curated shelves."""
    builders = {"ndc": feeds.ndc_feed, "audience": feeds.audience_feed, "shelves": lambda: feeds.shelves_feed(db_session())}
    if name not in builders:
        raise NotFound()
    return _navigation(version, builders[name]())


def _navigation(version: int, nav: feeds.NavigationFeed) -> Response:
    _shows(())
    urls, locale = Urls.for_request(version), current_locale()
    if version == 1:
        return _xml(v1.navigation_feed(nav, urls, locale, entries.rfc3339(utcnow())), NAVIGATION_V1)
    return _json(v2.navigation_feed(nav, urls, locale))


# --- acquisition feeds ------------------------------------------------------------------------


@bp.get(V + "/new", defaults={"kind": "new"})
@bp.get(V + "/popular", defaults={"kind": "popular"})
@bp.get(V + "/all", defaults={"kind": "all"})
@bp.get(V + "/<any(audience, ndc, shelves):kind>/<value>")
@shared_cache
def browse(version: int, kind: str, value: str | None = None):
    """A page of a browsing feed, narrowed by facets."""
    session = db_session()
    spec = feeds.feed_spec(session, f"{kind}/{value}" if value else kind)
    filters, page_number = feeds.parse_filters(request.args), feeds.parse_page(request.args.get("page"))
    page = feeds.browse(session, spec, filters, page_number, _cache(), _page_size())
    return _acquisition(version, page)


@bp.get(V + "/search")
@shared_cache
def search(version: int):
    """Search results (``q`` in OPDS 1's OpenSearch template, ``query`` in OPDS 2's)."""
    text = request.args.get("query") or request.args.get("q") or ""
    filters, page_number = feeds.parse_filters(request.args), feeds.parse_page(request.args.get("page"))
    page = feeds.search(db_session(), runtime().search, text, filters, page_number, _page_size())
    return _acquisition(version, page)


def _acquisition(version: int, page: feeds.AcquisitionPage) -> Response:
    page.circulation = circulation.for_titles(db_session(), [t.id for t in page.titles], _patron_id())
    _shows(page.circulation)
    urls, locale = Urls.for_request(version), current_locale()
    if version == 1:
        return _xml(v1.acquisition_feed(page, urls, locale, entries.rfc3339(utcnow())), ACQUISITION_V1)
    return _json(v2.acquisition_feed(page, urls, locale))


@bp.get("/v1/opensearch.xml")
def opensearch():
    """OpenSearch description for OPDS 1 clients."""
    return _xml(v1.opensearch_description(Urls.for_request(1), current_locale()), OPENSEARCH)


# --- entries, lending -------------------------------------------------------------------------


def _title(title_id: int) -> Title:
    title = db_session().scalar(
        select(Title)
        .where(Title.id == title_id, Title.status == TitleStatus.active)
        .options(selectinload(Title.contributors).joinedload(TitleContributor.contributor), selectinload(Title.subjects), selectinload(Title.files))
    )
    if title is None:
        raise NotFound("本が見つかりません。", "No such title.")
    return title


def _entry(version: int, title: Title, status: int = 200) -> Response:
    circ = circulation.for_titles(db_session(), [title.id], _patron_id())[title.id]
    _shows([title.id])
    urls, locale = Urls.for_request(version), current_locale()
    if version == 1:
        return _xml(v1.entry_document(title, circ, urls, locale), ENTRY_V1, status)
    return _json(v2.publication(title, circ, urls, locale), PUBLICATION_V2, status)


@bp.get(V + "/titles/<int:title_id>")
@shared_cache
def entry(version: int, title_id: int):
    """The complete entry (OPDS 1) or publication (OPDS 2) of a title."""
    return _entry(version, _title(title_id))


@bp.post(V + "/titles/<int:title_id>/borrow")
def borrow(version: int, title_id: int):
    """Borrow the title, or join its waitlist when no copy is free; answers the updated entry (201)."""
    patron = auth.require_patron()
    session = db_session()
    title = _title(title_id)
    if lending.active_loan(session, patron.id, title.id) is not None:
        return _entry(version, title)  # a client retrying its POST gets the loan it already has
    try:
        lending.borrow(session, patron, title.id, cipher=runtime().cipher, channel="opds")
    except NotAvailable:
        held = circulation.for_titles(session, [title.id], patron.id)[title.id].hold
        if held is not None:
            return _entry(version, title)  # already waiting: nothing to change
        lending.place_hold(session, patron, title.id, channel="opds")
    return _entry(version, title, 201)


@bp.route(V + "/titles/<int:title_id>/revoke", methods=["POST", "DELETE"])
def revoke(version: int, title_id: int):
    """Return the patron's loan of the title, or cancel their hold on it."""
    patron = auth.require_patron()
    session = db_session()
    title = _title(title_id)
    circ = circulation.for_titles(session, [title.id], patron.id)[title.id]
    if circ.loan is not None:
        lending.return_loan(session, patron, circ.loan.id, cipher=runtime().cipher)
    elif circ.hold is not None:
        lending.cancel_hold(session, patron, circ.hold.id, cipher=runtime().cipher)
    else:
        raise NotFound("この本の貸出も予約もありません。", "You have no loan or hold of this book.")
    session.expire_all()
    return _entry(version, _title(title_id))


@bp.get(V + "/shelf")
def shelf(version: int):
    """The patron's loans and holds (``http://opds-spec.org/shelf``)."""
    patron = auth.require_patron()
    session = db_session()
    view = circulation.shelf_titles(session, patron.id)
    circs = circulation.for_titles(session, [t.id for t in view], patron.id)
    urls, locale = Urls.for_request(version), current_locale()
    if version == 1:
        return _xml(v1.shelf_feed(view, circs, urls, locale, entries.rfc3339(utcnow())), ACQUISITION_V1)
    return _json(v2.shelf_feed(view, circs, urls, locale))


@bp.get("/titles/<int:title_id>/file")
def fulfil(title_id: int):
    """The book file: anyone for open titles; the borrower (HTTP Basic or signed in) when the licence
    allows a DRM-free download. The rule is shared with the readers (``elibrary.lending.grants``)."""
    session = db_session()
    patron = auth.current_patron()
    try:
        grant = reading.grant_reading(session, patron, title_id)
    except reading.NotReadable:
        if patron is None:
            raise auth.AuthenticationRequired() from None
        raise
    if not grant.may_download:
        raise Forbidden("この本はダウンロードできません。ブラウザで読んでください。", "This book cannot be downloaded; read it in the browser.")
    book = grant.book_file
    stream = runtime().storage.open(book.storage_key)
    extension = "pdf" if grant.is_pdf else "epub"
    response = send_file(stream, mimetype=book.media_type, as_attachment=True, download_name=f"{title_id}.{extension}", conditional=False)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- authentication document ------------------------------------------------------------------


@bp.get("/auth")
def auth_document():
    """The Authentication for OPDS document."""
    return auth.document_response()


@bp.get("/logo.png")
def logo():
    """The library's logo for reading apps' sign-in screens."""
    response = Response((STATIC / "logo.png").read_bytes(), mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


def init_app(app: Flask) -> None:
    """Register the blueprint (its caches are the runtime's: ``runtime.opds``)."""
    app.register_blueprint(bp)
