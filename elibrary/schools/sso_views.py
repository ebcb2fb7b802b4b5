"""School-account sign-in pages (OpenID Connect) and the admins' per-school provider settings.

``/school/sso/<code>`` sends the browser to the school's provider; ``/school/sso/callback`` checks the
answer; a first sign-in that the roster's e-mail cannot link asks for the card's link code
(``/school/sso/link``). The verified subject waiting for its code is kept in the signed session cookie
(its keyed hash only) for ten minutes.
"""
from __future__ import annotations

import time

from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for
from sqlalchemy import select

from elibrary.schools import sso
from elibrary.schools.models import School
from elibrary.schools.signin_models import OidcProvider
from elibrary.security.throttle import TooManyAttempts
from elibrary.web.auth import sign_in_user, staff_required
from elibrary.web.i18n import current_locale, t
from elibrary.web.transactions import db_session, runtime, writes

bp = Blueprint("schools_sso", __name__)
STATE_KEY = "school_sso_state"
LINK_KEY = "school_sso_link"
LINK_SECONDS = 600


def _redirect_uri() -> str:
    return url_for("schools_sso.callback", _external=True)


def _refusal(exc: sso.SsoRefused | sso.SsoNotConfigured | TooManyAttempts):
    schools = sso.schools_with_sign_in(db_session(), runtime().settings)
    body = render_template("schools/signin.html", error=exc.message(current_locale()), sso_schools=schools)
    return body, exc.status, exc.headers()


@bp.get("/school/sso/<school_code>")
def start(school_code: str):
    """Send the browser to the school's provider (state, nonce, PKCE).

    A link (GET), not a form: the site's ``form-action 'self'`` would stop a form's redirect to the provider.
    Starting a sign-in for someone else gains nothing: the answer is bound to this browser's state.
    """
    rt = runtime()
    try:
        provider = sso.provider_settings(db_session(), rt.cipher, rt.settings, school_code)
        url, state = sso.begin(db_session(), rt.cipher, rt.school_oidc, provider, _redirect_uri())
    except (sso.SsoRefused, sso.SsoNotConfigured) as exc:
        return _refusal(exc)
    session[STATE_KEY] = state
    return redirect(url, code=303)


@bp.get("/school/sso/callback")
@writes
def callback():
    """The provider's answer: sign in, or ask for the card's link code on a first sign-in."""
    rt = runtime()
    if request.args.get("error"):
        session.pop(STATE_KEY, None)
        return _refusal(sso.SsoRefused())
    try:
        outcome = sso.complete(rt.db, db_session(), rt.cipher, rt.school_oidc, rt.settings, state=request.args.get("state", ""),
                               browser_state=session.pop(STATE_KEY, None), code=request.args.get("code", ""), redirect_uri=_redirect_uri())
    except (sso.SsoRefused, sso.SsoNotConfigured) as exc:
        return _refusal(exc)
    if outcome.patron is None:
        session[LINK_KEY] = {"subject": outcome.subject_hash, "school": outcome.school_code, "until": int(time.time()) + LINK_SECONDS}
        return redirect(url_for("schools_sso.link"), code=303)
    sign_in_user(outcome.patron)
    return redirect(url_for("catalog.home"), code=303)


@bp.route("/school/sso/link", methods=["GET", "POST"])
def link():
    """First sign-in with a school account the roster's e-mail did not find: the card's link code."""
    pending = session.get(LINK_KEY)
    if not pending or pending.get("until", 0) < time.time():
        session.pop(LINK_KEY, None)
        return _refusal(sso.ReplayedState())
    error = None
    if request.method == "POST":
        rt = runtime()
        try:
            patron = sso.link_with_code(db_session(), rt.cipher, rt.throttle, subject_hash=pending["subject"], school_code=pending["school"],
                                        code=request.form.get("code", ""), address=request.remote_addr)
        except (sso.SsoRefused, TooManyAttempts) as exc:
            body = render_template("schools/sso_link.html", error=exc.message(current_locale()))
            return body, exc.status, exc.headers()
        session.pop(LINK_KEY, None)
        sign_in_user(patron)
        return redirect(url_for("catalog.home"), code=303)
    return render_template("schools/sso_link.html", error=error)


@bp.get("/staff/schools/sign-in")
@staff_required("admin")
def providers():
    """Admins: each school's school-account sign-in settings."""
    db = db_session()
    schools = db.scalars(select(School).order_by(School.code)).all()
    rows = {row.school_code: row for row in db.scalars(select(OidcProvider))}
    default_issuer = runtime().settings.get("ELIBRARY_OIDC_ISSUER") or ""
    return render_template("schools/sso_providers.html", schools=schools, rows=rows, default_issuer=default_issuer)


@bp.route("/staff/schools/sign-in/<school_code>", methods=["GET", "POST"])
@staff_required("admin")
def provider(school_code: str):
    """Admins: set one school's provider (issuer, client, secret kept encrypted) and which accounts belong."""
    db = db_session()
    school = db.scalar(select(School).where(School.code == school_code))
    if school is None:
        return _refusal(sso.SsoNotConfigured())
    if request.method == "POST":
        form = request.form
        sso.save_provider(db, runtime().cipher, school_code, enabled=form.get("enabled") == "1", issuer=form.get("issuer", ""),
                          client_id=form.get("client_id", ""), client_secret=form.get("client_secret") or None,
                          hosted_domains=form.get("hosted_domains", ""), tenant_ids=form.get("tenant_ids", ""), email_domains=form.get("email_domains", ""))
        flash(t("学校アカウントでのログインの設定を保存しました。", "The school sign-in settings have been saved."), "info")
        return redirect(url_for("schools_sso.providers"), code=303)
    row = db.scalar(select(OidcProvider).where(OidcProvider.school_code == school_code))
    return render_template("schools/sso_provider.html", school=school, row=row, redirect_uri=_redirect_uri(),
                           default_issuer=runtime().settings.get("ELIBRARY_OIDC_ISSUER") or "")


def init_app(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
