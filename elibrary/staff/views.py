"""Staff sign-in (職員ログイン): e-mail and password, then TOTP for admin and librarian.

The steps are kept in the session under ``staff_signin`` until every one is done; only then is the
staff member signed in. First sign-in enrols the authenticator (QR code) and replaces the one-time
password printed by ``elibrary staff add``.
"""
from __future__ import annotations

import time

from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for

from elibrary.errors import DomainError
from elibrary.staff import services, totp
from elibrary.staff.models import StaffUser
from elibrary.web.auth import current_session_token, current_staff, sign_in_user, sign_out_everywhere, sign_out_user, staff_required
from elibrary.web.i18n import current_locale, t
from elibrary.web.safety import safe_next_url
from elibrary.web.transactions import db_session, rollback_request_session, runtime

bp = Blueprint("staff", __name__, url_prefix="/staff")

# Staff start-page links: (endpoint, roles, Japanese, English). Other domains may append in their init_app;
# entries whose endpoint is not registered are left out.
MENU: list[tuple[str, tuple[str, ...], str, str]] = [
    ("patron_admin.lookup", ("admin", "librarian"), "利用者の照会", "Look up a patron"),
    ("registrations.queue", ("admin", "librarian"), "仮登録の確認", "Provisional registrations"),
    ("audit.search", ("admin",), "個人情報アクセス記録", "Personal data access log"),
    ("security_events.search", ("admin",), "セキュリティイベント", "Security events"),
    ("selection.pool", ("admin", "librarian"), "選書・発注", "Selection and orders"),
    ("announcements.staff_list", ("admin", "librarian"), "お知らせ", "Announcements"),
    ("stocktake.index", ("admin", "librarian"), "蔵書点検（電子書籍）", "E-book stocktake"),
    ("maintenance.admin", ("admin",), "メンテナンスモード", "Maintenance mode"),
    ("backups.backup_list", ("admin",), "バックアップ", "Backups"),
    ("schools.roster_form", ("admin", "librarian"), "学校の名簿の取り込み", "School roster import"),
    ("schools.rollover_form", ("admin", "librarian"), "学校の年度更新", "Schools' April roll-over"),
    ("stats.page", ("admin", "librarian", "teacher"), "統計", "Statistics"),
]

PENDING = "staff_signin"
PENDING_SECONDS = 600  # the second step must follow the first within ten minutes


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Step one: e-mail and password."""
    session.pop(PENDING, None)
    next_url = safe_next_url(request.values.get("next"))
    if request.method == "GET":
        return render_template("staff/login.html", error=None, email="", next=next_url)
    email = request.form.get("email", "")
    try:
        user = services.sign_in_password(db_session(), runtime(), email, request.form.get("password", ""), request.remote_addr)
    except DomainError as exc:
        body = render_template("staff/login.html", error=exc.message(current_locale()), email=email, next=next_url)
        return body, exc.status, exc.headers()
    session[PENDING] = {"id": user.id, "t": time.time(), "next": next_url}
    return _next_step(user)


def _pending_user() -> StaffUser | None:
    pending = session.get(PENDING)
    if not pending or time.time() - pending.get("t", 0) > PENDING_SECONDS:
        session.pop(PENDING, None)
        return None
    user = db_session().get(StaffUser, pending["id"])
    return user if user is not None and user.active else None


def _next_step(user: StaffUser):
    """Send the user to the first step still to do, or sign them in."""
    pending = session[PENDING]
    if totp.needs_totp(user) and not pending.get("totp_ok"):
        return redirect(url_for("staff.second_factor" if user.totp_secret_enc else "staff.enrol"), code=303)
    if user.must_change_password:
        return redirect(url_for("staff.change_password"), code=303)
    session.pop(PENDING, None)
    sign_in_user(user, fresh=True)
    return redirect(pending.get("next") or url_for("staff.home"), code=303)


@bp.route("/login/code", methods=["GET", "POST"])
def second_factor():
    """Step two: the six-digit code from the authenticator app."""
    user = _pending_user()
    if user is None or not user.totp_secret_enc:
        return redirect(url_for("staff.login"), code=303)
    if request.method == "POST":
        try:
            services.check_second_factor(db_session(), runtime(), user, request.form.get("code", ""), request.remote_addr)
        except DomainError as exc:
            return render_template("staff/code.html", error=exc.message(current_locale())), exc.status, exc.headers()
        session[PENDING] = {**session[PENDING], "totp_ok": True}
        return _next_step(user)
    return render_template("staff/code.html", error=None)


@bp.route("/login/enrol", methods=["GET", "POST"])
def enrol():
    """First sign-in of an admin or librarian: scan the QR code, then type one code to confirm."""
    user = _pending_user()
    if user is None or user.totp_secret_enc or not totp.needs_totp(user):
        return redirect(url_for("staff.login"), code=303)
    pending = session[PENDING]
    cipher = runtime().cipher
    # The session cookie is signed, not encrypted: keep the secret-to-be encrypted in it.
    secret = cipher.decrypt(bytes.fromhex(pending["secret"]), "staff.totp.pending") if pending.get("secret") else totp.new_secret()
    session[PENDING] = {**pending, "secret": cipher.encrypt(secret, "staff.totp.pending").hex()}
    uri = totp.provisioning_uri(secret, user.email, runtime().settings.get("ELIBRARY_LIBRARY_NAME_EN") or totp.ISSUER)
    error = None
    if request.method == "POST":
        try:
            totp.confirm_enrolment(user, runtime().cipher, secret, request.form.get("code", ""))
        except DomainError as exc:
            error = exc.message(current_locale())
        else:
            session[PENDING] = {**session[PENDING], "totp_ok": True, "secret": None}
            return _next_step(user)
    body = render_template("staff/enrol.html", error=error, uri=uri, secret=secret, qr=totp.qr_svg_data_uri(uri))
    return body, 401 if error else 200


@bp.route("/login/password", methods=["GET", "POST"])
def change_password():
    """Replace the one-time password before the first real sign-in."""
    user = _pending_user()
    if user is None or (totp.needs_totp(user) and not session[PENDING].get("totp_ok")):
        return redirect(url_for("staff.login"), code=303)
    error = None
    if request.method == "POST":
        new, again = request.form.get("password", ""), request.form.get("password2", "")
        try:
            if new != again:
                raise services.PasswordsDiffer()
            services.set_password(db_session(), user, new, keep=current_session_token())
        except DomainError as exc:
            rollback_request_session()
            error = exc.message(current_locale())
        else:
            return _next_step(user)
    return render_template("staff/password.html", error=error), 400 if error else 200


@bp.get("/")
@staff_required()
def home():
    """The staff start page: links to what this role may use."""
    from flask import current_app

    menu = [entry for entry in MENU if entry[0] in current_app.view_functions]
    return render_template("staff/home.html", user=current_staff._get_current_object(), staff_menu=menu)


@bp.post("/logout")
def logout():
    """Sign out (POST only)."""
    sign_out_user()
    session.pop(PENDING, None)
    flash(t("ログアウトしました。", "You have signed out."), "info")
    return redirect(url_for("staff.login"), code=303)


@bp.post("/logout/everywhere")
@staff_required()
def logout_everywhere():
    """Sign out on every device (a terminal left signed in elsewhere)."""
    sign_out_everywhere()
    flash(t("すべての端末でログアウトしました。", "You have signed out on every device."), "info")
    return redirect(url_for("staff.login"), code=303)


def init_app(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
