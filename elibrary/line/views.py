"""LINE pages: the LIFF page (link a card, open マイページ signed in), unlink, and staff unlink.

The LIFF page's script sends only LINE's ID token (``liff.getIDToken()``); the server verifies it with
LINE and keeps in the browser session only the hash of that token, so the LINE identity ends when the
token expires. JSON endpoints answer ``application/problem+json`` on refusal (``web/errors.py``).
"""
from __future__ import annotations

import json
import logging
import re
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, abort, flash, jsonify, make_response, redirect, render_template, request, session, url_for
from jinja2.utils import htmlsafe_json_dumps

from elibrary.errors import InvalidInput
from elibrary.line import linking, recipients, sdk
from elibrary.line import webhook as webhook_events
from elibrary.line.client import LineError
from elibrary.line.models import CHANNELS
from elibrary.patrons import services as patron_services
from elibrary.patrons.models import Patron
from elibrary.web.auth import current_patron, current_staff, patron_required, sign_in_user, staff_required
from elibrary.web.headers import inline_script_policy
from elibrary.web.i18n import current_locale, t
from elibrary.web.safety import csrf_exempt
from elibrary.web.transactions import db_session, own_transactions, runtime

log = logging.getLogger(__name__)
bp = Blueprint("line", __name__, url_prefix="/line")
LINK_TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
SESSION_KEY = "line_token"  # the SHA-256 of the verified ID token (``line_used_id_tokens.token_hash``)


def _client():
    client = runtime().line
    if client is None or not runtime().settings.get("ELIBRARY_LINE_LOGIN_CHANNEL_ID"):
        abort(404)  # LINE is off
    return client


def _verified_line_user() -> str | None:
    return linking.verified_line_user(db_session(), runtime().cipher, session.get(SESSION_KEY))


def _sign_in(patron: Patron) -> None:
    # The one place LINE signs a patron in: a revocable session record like every other sign-in.
    sign_in_user(patron)


@bp.get("/liff")
def liff():
    """The LIFF app's page: it verifies the LINE user, then links a card or opens マイページ."""
    _client()
    settings = runtime().settings
    mock = bool(settings.get("ELIBRARY_LINE_LIFF_MOCK")) and settings.get("ELIBRARY_ENV") != "production"
    import_map = htmlsafe_json_dumps(sdk.import_map(url_for("line.sdk_file", path="x")[:-1]))
    html = render_template("line/liff.html", liff_id=settings.get("ELIBRARY_LINE_LIFF_ID") or "", import_map=import_map, liff_mock=mock)
    response = make_response(html)
    # The page's own policy: the site's, plus this one import map (by hash) and LINE's API origins for the SDK.
    line_origins = tuple(str(settings.get(name) or default).rstrip("/") for name, default in
                         (("ELIBRARY_LINE_API_BASE", "https://api.line.me"), ("ELIBRARY_LINE_LOGIN_BASE", "https://access.line.me")))
    response.headers["Content-Security-Policy"] = inline_script_policy(str(import_map), connect=line_origins)
    return response


@bp.get("/sdk/<path:path>")
def sdk_file(path: str):
    """The LIFF SDK's ES modules from npm (and, for tests, ``@line/liff-mock``)."""
    if ".." in path or not sdk.allowed(path):
        abort(404)
    response = Response(sdk.read(path), mimetype="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/session")
def start_session():
    """Exchange a LIFF ID token for this browser session; a linked user is signed in at once."""
    client = _client()
    payload = request.get_json(silent=True) or {}
    token_row = linking.verify_id_token(db_session(), client, runtime().cipher, str(payload.get("id_token") or ""))
    session[SESSION_KEY] = token_row.token_hash
    line_user = runtime().cipher.decrypt(token_row.line_user_enc, "line.user")
    patron = linking.patron_for_line_user(db_session(), runtime().cipher, line_user)
    if patron is None:
        return jsonify(linked=False)
    _sign_in(patron)
    return jsonify(linked=True, next=url_for("lending.shelf"))


@bp.post("/link")
def link():
    """Card number + password for the verified LINE user: link them and sign in."""
    _client()
    cipher = runtime().cipher
    # Read in a short transaction of its own: the request's (which writes) then begins only after the library
    # system has answered, so on SQLite no write lock is held while it does (a SIP2 reply may take 5 s, twice).
    with runtime().db.scope(write=False) as reading:
        line_user = linking.verified_line_user(reading, cipher, session.get(SESSION_KEY))
        linked = line_user is not None and linking.link_for_user(reading, cipher, line_user) is not None
    if line_user is None:
        raise linking.LineSignInFailed()
    if linked:
        raise linking.LineUserAlreadyLinked()
    payload = request.get_json(silent=True) or request.form
    db = db_session()
    # A refusal is raised to the error handler (problem+json for the LIFF page); the throttle keeps its
    # count in a transaction of its own, so nothing is committed here. ``linking.link`` checks both sides again.
    patron = patron_services.sign_in_for_request(db, runtime(), str(payload.get("card") or ""), str(payload.get("pin") or ""), request.remote_addr)
    linking.link(db, runtime().cipher, patron, line_user, via="liff", address=request.remote_addr)
    _sign_in(patron)
    return jsonify(linked=True, next=url_for("lending.shelf"))


@bp.post("/unlink")
def unlink():
    """The patron ends the link (from the LIFF page or マイページ)."""
    db = db_session()
    patron_id = None
    line_user = _verified_line_user()
    if line_user is not None:
        row = linking.link_for_user(db, runtime().cipher, line_user)
        patron_id = row.patron_id if row is not None else None
    elif current_patron.is_authenticated:
        patron_id = current_patron.id
    if patron_id is None:
        raise linking.LineSignInFailed()
    linking.unlink(db, patron_id, address=request.remote_addr)
    if request.form:  # the form on the settings page
        flash(t("LINE連携を解除しました。", "The LINE link has been removed."), "info")
        return redirect(url_for("line.settings"), code=303)
    return jsonify(linked=False)


@bp.route("/settings", methods=["GET", "POST"])
@patron_required
def settings():
    """マイページ's notice settings: LINE, e-mail or both; book titles in LINE notices; the LINE link."""
    db = db_session()
    titles_allowed = bool(runtime().settings.get("ELIBRARY_LINE_NOTICE_TITLES"))
    if request.method == "POST":
        channel = request.form.get("channel", "")
        if channel not in CHANNELS:
            raise InvalidInput("受け取り方法を選んでください。", "Choose how to receive notices.", field="channel")
        recipients.set_preference(db, current_patron.id, channel, titles_allowed and request.form.get("include_titles") == "1")
        flash(t("通知の設定を保存しました。", "Your notice settings have been saved."), "info")
        return redirect(url_for("line.settings"), code=303)
    return render_template(
        "line/settings.html",
        preference=recipients.preference_of(db, current_patron.id),
        link=linking.link_for_patron(db, current_patron.id),
        has_email=patron_services.notification_address(db, runtime().cipher, current_patron) is not None,
        titles_allowed=titles_allowed,
        line_enabled=runtime().line is not None and bool(runtime().settings.get("ELIBRARY_LINE_LOGIN_CHANNEL_ID")),
    )


@bp.post("/webhook")
@csrf_exempt
@own_transactions
def webhook():
    """LINE's webhook: signed with the Messaging API channel secret; always 200 once the signature is good.

    The events are applied in a short transaction of their own, committed before the link requests are
    answered (two calls to LINE each, up to 10 s): on SQLite no write lock is held while LINE answers.
    """
    body = request.get_data(cache=True)
    webhook_events.verify_signature(runtime().settings.get("ELIBRARY_LINE_MESSAGING_SECRET"), body, request.headers.get("X-Line-Signature"))
    try:
        payload = json.loads(body)
    except ValueError:
        abort(400)
    with runtime().db.scope() as session:
        requests = webhook_events.handle_events(session, runtime().cipher, payload if isinstance(payload, dict) else {})
    client = runtime().line
    for ask in requests if client is not None else []:
        try:
            link_token = client.issue_link_token(ask.user_id)
            url = url_for("line.account_link", linkToken=link_token, _external=True)
            client.reply(ask.reply_token, [{"type": "text", "text": f"図書館カードとの連携はこちらから（10分間有効）:\n{url}"}])
        except LineError:
            log.warning("could not answer a LINE link request")
    return jsonify(ok=True)


@bp.route("/account-link", methods=["GET", "POST"])
def account_link():
    """Our sign-in page in LINE's account-link flow: card + password, then back to LINE with a nonce."""
    link_token = request.args.get("linkToken", "")
    if not LINK_TOKEN.match(link_token):
        abort(400)
    error = None
    if request.method == "POST":
        db = db_session()
        try:
            patron = patron_services.sign_in_for_request(
                db, runtime(), request.form.get("card", ""), request.form.get("pin", ""), request.remote_addr
            )
        except (patron_services.SignInFailed, patron_services.ILSDown, patron_services.TooManyAttempts) as exc:
            # the page answers with the refusal's status: the request rolls back, the throttle keeps its count
            error = exc.message(current_locale())
            return render_template("line/account_link.html", error=error), exc.status
        if linking.link_for_patron(db, patron.id) is not None:
            raise linking.CardAlreadyLinked()
        nonce = webhook_events.new_link_nonce(db, patron)
        base = (runtime().settings.get("ELIBRARY_LINE_LOGIN_BASE") or "https://access.line.me").rstrip("/")
        return redirect(f"{base}/dialog/bot/accountLink?{urlencode({'linkToken': link_token, 'nonce': nonce})}", code=303)
    return render_template("line/account_link.html", error=error)


@bp.post("/staff/patrons/<int:patron_id>/unlink")
@staff_required("admin", "librarian")
def staff_unlink(patron_id: int):
    """Staff end a patron's LINE link (lost phone, a request at the counter)."""
    linking.unlink(db_session(), patron_id, staff=current_staff._get_current_object(), address=request.remote_addr)
    if request.form:  # the button on the staff patron page
        flash(t("LINE連携を解除しました。", "The LINE link has been removed."), "info")
        return redirect(url_for("patron_admin.lookup"), code=303)
    return jsonify(linked=False)


def _line_link_of(patron_id: int):
    """For the staff patron page: the patron's LINE link, if any."""
    return linking.link_for_patron(db_session(), patron_id)


def init_app(app: Flask) -> None:
    """Register the blueprint and the staff page's helper."""
    app.register_blueprint(bp)
    app.jinja_env.globals["line_link_of"] = _line_link_of
