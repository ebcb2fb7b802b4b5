"""Patron sign-in and sign-out (card number + PIN through the ILS connector)."""
from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user

from elibrary.patrons import services
from elibrary.web.auth import sign_in_user, sign_out_everywhere, sign_out_user
from elibrary.web.i18n import current_locale
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


def init_app(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
