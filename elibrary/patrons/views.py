"""Patron sign-in and sign-out (card number + PIN through the ILS connector)."""
from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user

from elibrary.patrons import services
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
            db_session().commit()  # nothing but the failure count can be pending: keep it
            return render_template("patrons/login.html", error=exc.message(current_locale()), card=""), exc.status
        login_user(patron)
        return redirect(safe_next_url(request.args.get("next")) or url_for("catalog.home"), code=303)
    return render_template("patrons/login.html", error=None, card="")


@bp.post("/logout")
def logout():
    """Sign out (POST only, so a link cannot sign someone out)."""
    logout_user()
    flash("ログアウトしました。" if current_locale() == "ja" else "You have signed out.", "info")
    return redirect(url_for("catalog.home"), code=303)


def init_app(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
