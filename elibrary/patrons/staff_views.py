"""Staff look-up of a patron by card number (admin, librarian); every look-up and change is logged."""
from __future__ import annotations

from flask import Blueprint, Flask, flash, render_template, request

from elibrary.audit import services as audit
from elibrary.audit.request_access import staff_access
from elibrary.errors import NotFound
from elibrary.patrons import services
from elibrary.patrons.models import Patron
from elibrary.patrons.validation import normalize_email
from elibrary.web.auth import staff_required
from elibrary.web.i18n import t
from elibrary.web.transactions import db_session, runtime

bp = Blueprint("patron_admin", __name__, url_prefix="/staff/patrons")
SHOWN_FIELDS = ("card", "name", "email")


@bp.route("/", methods=["GET", "POST"])
@staff_required("admin", "librarian")
def lookup():
    """Find a patron by card number (POSTed, so the number never appears in a URL)."""
    if request.method == "GET":
        return render_template("patrons/staff_lookup.html", patron=None, data=None, error=None)
    rt = runtime()
    patron = services.find_by_card(db_session(), rt.cipher, request.form.get("card", ""))
    audit.record(db_session(), staff_access("search", subject="patrons", patron_id=patron.id if patron else None, fields=("card",)))
    if patron is None:
        # A search that finds nothing is still an answer (200), and its log entry must commit.
        return render_template("patrons/staff_lookup.html", patron=None, data=None, error=t("該当する利用者はいません。", "No patron has that card number."))
    return _show(patron)


def _show(patron: Patron):
    rt = runtime()
    data = {
        "card": services.card_number_of(patron, rt.cipher),
        "name": services.name_of(patron, rt.cipher),
        "email": services.notification_address(db_session(), rt.cipher, patron),
    }
    audit.record(db_session(), staff_access("view", subject=f"patron:{patron.id}", patron_id=patron.id, fields=SHOWN_FIELDS))
    return render_template("patrons/staff_lookup.html", patron=patron, data=data, error=None)


@bp.post("/<int:patron_id>/email")
@staff_required("admin", "librarian")
def change_email(patron_id: int):
    """Correct the notification e-mail address (logged as a change)."""
    patron = db_session().get(Patron, patron_id)
    if patron is None:
        raise NotFound()
    raw = request.form.get("email", "").strip()
    try:
        email = normalize_email(raw) if raw else None
    except ValueError:
        error = t("メールアドレスの形式が正しくありません。", "That is not a valid e-mail address.")
        return render_template("patrons/staff_lookup.html", patron=None, data=None, error=error), 400
    services.set_email(patron, runtime().cipher, email)
    audit.record(db_session(), staff_access("change", subject=f"patron:{patron.id}", patron_id=patron.id, fields=("email",)))
    flash(t("メールアドレスを変更しました。", "The e-mail address was changed."), "info")
    return _show(patron)


def init_app(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
