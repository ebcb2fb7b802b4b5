"""Patron sign-in and sign-out (card number + PIN through the ILS connector)."""
from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user

from elibrary.patrons import email_change, services
from elibrary.patrons.contact import notification_address
from elibrary.web.auth import current_patron, patron_required, sign_in_user, sign_out_everywhere, sign_out_user
from elibrary.web.i18n import current_locale, t
from elibrary.web.safety import safe_next_url
from elibrary.web.transactions import db_session, runtime

bp = Blueprint("patrons", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign-in form; on success go back where the patron was going."""
    if request.method == "POST":
        try:
            patron = services.sign_in_for_request(
                db_session(), runtime(), request.form.get("card", ""), request.form.get("pin", ""), request.remote_addr
            )
        except (services.SignInFailed, services.ILSDown, services.TooManyAttempts) as exc:
            # The failure was counted by the throttle in its own transaction: nothing here to keep.
            body = render_template("patrons/login.html", error=exc.message(current_locale()), card="")
            return body, exc.status, exc.headers()
        sign_in_user(patron)
        return redirect(safe_next_url(request.args.get("next")) or url_for("catalog.home"), code=303)
    return render_template("patrons/login.html", error=None, card="")


@bp.post("/logout")
def logout():
    """Sign out (POST only, so a link cannot sign someone out)."""
    sign_out_user()
    flash("ログアウトしました。" if current_locale() == "ja" else "You have signed out.", "info")
    return redirect(url_for("catalog.home"), code=303)


@bp.post("/logout/everywhere")
def logout_everywhere():
    """Sign out on every device (a phone lost, a shared terminal left signed in)."""
    if current_user.is_authenticated:
        sign_out_everywhere()
    flash("すべての端末でログアウトしました。" if current_locale() == "ja" else "You have signed out on every device.", "info")
    return redirect(url_for("catalog.home"), code=303)


@bp.route("/account/email", methods=["GET", "POST"])
@patron_required
def email():
    """メールアドレスの設定: the patron's own address, changed only after a link sent to the new one is opened."""
    rt = runtime()
    if request.method == "POST":
        address, token = email_change.request_change(db_session(), rt.cipher, rt.settings["ELIBRARY_SECRET_KEY"], current_patron,
                                                     request.form.get("email", ""))
        link = url_for("patrons.confirm_email", token=token, _external=True)
        email_change.send_confirmation(db_session(), rt.cipher, address, link, _library_name())
        flash(t(f"{address} に確認のメールを送りました。メールのリンクを開くと設定が完了します。",
                f"A confirmation e-mail was sent to {address}. Open its link to finish."), "success")
        return redirect(url_for("patrons.email"), code=303)
    current = notification_address(db_session(), rt.cipher, current_patron)
    return render_template("patrons/email.html", current=current, hours=email_change.MAX_AGE_HOURS)


@bp.get("/account/email/confirm/<token>")
@patron_required
def confirm_email(token: str):
    """The link from the confirmation e-mail: stores the address for the signed-in patron it was made for."""
    rt = runtime()
    address = email_change.confirm_change(db_session(), rt.cipher, rt.settings["ELIBRARY_SECRET_KEY"], current_patron, token)
    flash(t(f"お知らせの送り先を {address} にしました。", f"Notices will go to {address}."), "success")
    return redirect(url_for("patrons.email"), code=303)


def _library_name() -> str:
    settings = runtime().settings
    return settings.get("ELIBRARY_LIBRARY_NAME") if current_locale() == "ja" else settings.get("ELIBRARY_LIBRARY_NAME_EN")


def init_app(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
