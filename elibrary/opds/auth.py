"""Authentication for OPDS: the document at ``/opds/auth`` and HTTP Basic sign-in through the ILS.

Policy (see README, "OPDS"): a protected resource without credentials, *and* wrong credentials, both
answer **401** with the authentication document as the body, a ``WWW-Authenticate: Basic`` challenge
and a ``Link`` to the document. A4OPDS §2.4 asks for 401; Thorium opens its sign-in form on a 401
carrying the document; KOReader prompts again on 401 but reads 403 as "wrong credentials" — we never
use 403 for credentials, only for a known patron the library's rules refuse (a blocked card). An ILS
that does not answer is a 503 problem+json, never a 401 (the patron's PIN is not wrong).
"""
from __future__ import annotations

import json

from flask import Response, current_app, g, request, url_for
from sqlalchemy import bindparam, select

from elibrary.opds.negotiation import AUTH_DOCUMENT, AUTH_DOCUMENT_PALACE, FEED_V2
from elibrary.patrons.accounts import school_account_ended
from elibrary.patrons.models import Patron
from elibrary.patrons.services import SignInFailed, sign_in_for_request
from elibrary.security import throttle
from elibrary.security.crypto import normalize_card_number
from elibrary.web.auth import current_patron as session_patron
from elibrary.web.i18n import t
from elibrary.web.transactions import db_session, runtime

BASIC = "http://opds-spec.org/auth/basic"
AUTH_REL = "http://opds-spec.org/auth/document"
SHELF_REL = "http://opds-spec.org/shelf"


class AuthenticationRequired(Exception):
    """Answered with 401 and the authentication document (registered on the OPDS blueprint)."""

    def __init__(self, wrong_credentials: bool = False) -> None:
        super().__init__("authentication required")
        self.wrong_credentials = wrong_credentials


def document_url() -> str:
    """Absolute URL of the authentication document (its ``id``)."""
    return url_for("opds.auth_document", _external=True)


def authentication_document() -> dict:
    """The Authentication for OPDS 1.0 document: Basic with card number and password."""
    settings = runtime().settings
    name = t(settings["ELIBRARY_LIBRARY_NAME"], settings["ELIBRARY_LIBRARY_NAME_EN"])
    links = [
        {"rel": "logo", "href": url_for("opds.logo", _external=True), "type": "image/png", "width": 120, "height": 120},
        {"rel": "help", "href": _help_url(), **({} if _help_url().startswith("mailto:") else {"type": "text/html"})},
        {"rel": "register", "href": _register_url(), "type": "text/html"},
        {"rel": SHELF_REL, "href": url_for("opds.shelf", version=2, _external=True), "type": FEED_V2},
        {"rel": "start", "href": url_for("opds.root", version=2, _external=True), "type": FEED_V2},
        {"rel": "alternate", "href": url_for("catalog.home", _external=True), "type": "text/html"},
    ]
    return {
        "id": document_url(),
        "title": name,
        "description": t(
            "利用者番号とパスワードでログインすると、本を借りたり予約したりできます。",
            "Sign in with your library card number and password to borrow and reserve books.",
        ),
        "authentication": [{"type": BASIC, "labels": {"login": t("利用者番号", "Card number"), "password": t("パスワード", "Password")}}],
        "links": links,
    }


def _help_url() -> str:
    configured = runtime().settings.get("ELIBRARY_OPDS_HELP_URL")
    if configured:
        return configured
    endpoint = "help.index" if "help.index" in current_app.view_functions else "catalog.home"
    return url_for(endpoint, _external=True)


def _register_url() -> str:
    configured = runtime().settings.get("ELIBRARY_OPDS_REGISTER_URL")
    if configured:
        return configured
    for endpoint in ("registrations.register", "patrons.register", "patrons.login"):
        if endpoint in current_app.view_functions:
            return url_for(endpoint, _external=True)
    return url_for("catalog.home", _external=True)


def document_response(status: int = 200) -> Response:
    """The document as a response; a client asking by Palace's older media type gets that type."""
    accept = request.headers.get("Accept", "")
    mimetype = AUTH_DOCUMENT_PALACE if AUTH_DOCUMENT_PALACE in accept and AUTH_DOCUMENT not in accept else AUTH_DOCUMENT
    body = json.dumps(authentication_document(), ensure_ascii=False)
    response = Response(body, status=status, mimetype=mimetype)
    response.headers["Link"] = f'<{document_url()}>; rel="{AUTH_REL}"; type="{AUTH_DOCUMENT}"'
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="elibrary OPDS", charset="UTF-8"'
        response.headers["Cache-Control"] = "no-store"
    return response


def current_patron_id() -> int | None:
    """The id of this request's patron, credentials checked as ``current_patron`` says, without loading the row.

    A kept feed page needs nothing more (``views.shared_cache``): remembered credentials are checked
    with one small statement, and the patron's row is loaded only by a view that uses it.
    """
    if "_opds_patron_id" not in g:
        g._opds_patron_id, g._opds_patron = _identify()
    return g._opds_patron_id


def current_patron() -> Patron | None:
    """The patron of this request: HTTP Basic credentials first, else a browser sign-in; None if anonymous.

    Wrong Basic credentials raise ``AuthenticationRequired`` (401) even on public feeds: a client that
    sends a PIN must learn that it is wrong. An unreachable ILS raises ``ILSDown`` (503).
    """
    patron_id = current_patron_id()
    if patron_id is None:
        return None
    if g._opds_patron is None:
        patron = db_session().get(Patron, patron_id)
        if patron is None:  # erased since its credentials were checked, a moment ago
            raise AuthenticationRequired(wrong_credentials=True)
        g._opds_patron = patron
    return g._opds_patron


def _identify() -> tuple[int | None, Patron | None]:
    """Whose request this is: (patron id, their row if it was loaded on the way) or (None, None)."""
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        return _basic_sign_in(auth.username or "", auth.password or "")
    if auth is not None or request.headers.get("Authorization"):
        raise AuthenticationRequired(wrong_credentials=True)  # a scheme we do not offer, or garbled
    if session_patron.is_authenticated:  # a signed-in patron, or a teacher's linked patron account
        patron = session_patron._get_current_object()
        return patron.id, patron
    return None, None


def _basic_sign_in(card: str, pin: str) -> tuple[int, Patron | None]:
    """Sign in with Basic credentials; a recent success is remembered so apps do not hit the ILS per request.

    Reading apps send the PIN with every request. Checking it against the ILS (or scrypt for local
    patrons) each time would cost 50–100 ms of CPU per feed; a success is kept for
    ``ELIBRARY_OPDS_AUTH_CACHE_SECONDS`` under a keyed hash of card and PIN (never the PIN itself).
    Failures are never cached, and they go through the same brute-force throttle as the sign-in form
    (``TooManyAttempts`` answers 429). The cache is used only with the ``local`` connector: with a real
    ILS, every request asks it, so a PIN changed or a card blocked there, or an ILS that is down, is
    never answered from stale credentials.

    Remembered credentials are refused at once when the database says so, read on every request in the
    request's session (one small statement, no second connection): the throttle locks the card, this
    card from this address, or the address (a lock caused through any worker applies to the next
    request); or the patron's row is gone, its PIN hash changed (a new PIN, a cancelled registration) or
    its school account ended. A blocked card signs in as it does with the form, and lending refuses it
    from its row. The row itself is loaded only when a view needs it (``current_patron``).
    """
    rt = runtime()
    cache = rt.opds.credentials
    use_cache = rt.settings.get("ELIBRARY_ILS") == "local"
    key = rt.cipher.lookup_hash(f"opds-basic\x00{card}\x00{pin}")
    hit = cache.get(key) if use_cache else None
    if hit is not None:
        keys = cache.attempt_keys(key, request.remote_addr, lambda address: rt.throttle.keys(rt.cipher, "card", normalize_card_number(card), address))
        rows = db_session().connection().execute(_REMEMBERED, {"patron_id": hit.patron_id, **keys.counter_params()}).all()
        rt.throttle.check(keys, rows={row.key: row for row in rows if row.key is not None})
        if rows and rows[0].pin_hash == hit.pin_hash and not school_account_ended(rows[0]):
            return hit.patron_id, None
    try:
        patron = sign_in_for_request(db_session(), rt, card, pin, request.remote_addr)
    except SignInFailed:
        raise AuthenticationRequired(wrong_credentials=True) from None
    if use_cache:
        cache.put(key, patron.id, patron.pin_hash)
    return patron.id, patron


# What decides whether remembered credentials still sign in, in one statement: the patron's row (its PIN hash;
# ``accounts.school_account_ended`` reads source and last day), once per counter of the attempt the throttle has.
_REMEMBERED = (
    select(Patron.pin_hash, Patron.source, Patron.expires_on, *throttle.COUNTER_COLUMNS)
    .outerjoin(throttle.SignInThrottle, throttle.ATTEMPT_COUNTERS)
    .where(Patron.id == bindparam("patron_id"))
)


def require_patron() -> Patron:
    """The signed-in patron, or a 401 carrying the authentication document."""
    patron = current_patron()
    if patron is None:
        raise AuthenticationRequired()
    return patron
