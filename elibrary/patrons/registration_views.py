"""Online provisional registration (利用者仮登録) and the staff queue that confirms or rejects it."""
from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for

from elibrary.audit import services as audit
from elibrary.audit.request_access import staff_access
from elibrary.errors import DomainError
from elibrary.patrons import registration
from elibrary.patrons.services import CATEGORIES
from elibrary.patrons.validation import FIELDS, LABELS
from elibrary.web.auth import sign_in_user, staff_required
from elibrary.web.i18n import current_locale, t
from elibrary.web.transactions import db_session, runtime

bp = Blueprint("registrations", __name__)


def _policy() -> registration.RegistrationPolicy:
    return registration.RegistrationPolicy.from_settings(runtime().settings)


def _library_name() -> str:
    settings = runtime().settings
    return settings.get("ELIBRARY_LIBRARY_NAME") if current_locale() == "ja" else settings.get("ELIBRARY_LIBRARY_NAME_EN")


@bp.route("/register", methods=["GET", "POST"])
def register():
    """The registration form; on success a confirmation e-mail is sent."""
    policy = _policy()
    if not policy.enabled:
        raise registration.RegistrationsClosed()
    context = {"fields": FIELDS, "labels": LABELS, "required": set(policy.required) | {"name", "email"}, "values": {}, "errors": {}, "message": None}
    if request.method == "GET":
        return render_template("patrons/register.html", **context)
    form = {field: request.form.get(field, "") for field in FIELDS}
    rt = runtime()
    try:
        entry, token = registration.start(db_session(), rt.cipher, form, policy)
    except registration.RegistrationInvalid as exc:
        locale = current_locale()
        context.update(values=form, errors={e.field: (e.message_en if locale == "en" else e.message_ja) for e in exc.errors}, message=exc.message(locale))
        return render_template("patrons/register.html", **context), 400
    except registration.DuplicateRegistration as exc:
        context.update(values=form, message=exc.message(current_locale()))
        return render_template("patrons/register.html", **context), exc.status
    link = url_for("registrations.confirm", token=token, _external=True)
    registration.send_confirmation(db_session(), rt.cipher, entry, link, _library_name(), policy.confirm_hours)
    return render_template("patrons/register_sent.html", hours=policy.confirm_hours)


@bp.route("/register/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """Open the e-mailed link, choose a password, get a provisional card (and be signed in)."""
    try:
        registration.find_for_token(db_session(), token)
    except (registration.LinkUnknown, registration.LinkUsed, registration.LinkExpired) as exc:
        return render_template("patrons/register_link.html", message=exc.message(current_locale())), exc.status
    if request.method == "GET":
        return render_template("patrons/register_confirm.html", error=None)
    pin, again = request.form.get("pin", ""), request.form.get("pin2", "")
    try:
        if pin != again:
            raise DomainError("確認用のパスワードが一致しません。", "The two passwords do not match.")
        patron, card = registration.confirm(db_session(), runtime().cipher, token, pin, _policy())
    except DomainError as exc:
        db_session().rollback()
        return render_template("patrons/register_confirm.html", error=exc.message(current_locale())), 400
    sign_in_user(patron)
    return render_template("patrons/register_done.html", card=card, expires_on=patron.expires_on)


@bp.get("/staff/registrations")
@staff_required("admin", "librarian")
def queue():
    """Registrations waiting for identity confirmation at the counter (each one shown is logged)."""
    rt = runtime()
    entries = registration.queue(db_session())
    rows = []
    for entry in entries:
        rows.append({"entry": entry, "data": registration.decrypt_fields(entry, rt.cipher)})
    for entry in entries:
        audit.record_now(rt.db, staff_access("view", subject=f"registration:{entry.id}", patron_id=entry.patron_id, fields=FIELDS))
    categories = [c for c in CATEGORIES if c != "provisional"]
    can_send = bool(getattr(rt.ils, "can_register", False))
    return render_template("patrons/registrations_queue.html", rows=rows, labels=LABELS, fields=FIELDS, categories=categories, can_send=can_send)


@bp.post("/staff/registrations/<int:registration_id>/approve")
@staff_required("admin", "librarian")
def approve(registration_id: int):
    """Identity confirmed: upgrade to the chosen category."""
    category = request.form.get("category", "")
    rt = runtime()
    send = request.form.get("send_to_ils") == "1" and bool(getattr(rt.ils, "can_register", False))
    patron = registration.approve(db_session(), registration_id, category, cipher=rt.cipher, ils=rt.ils if send else None)
    fields = ("category", "card") + (FIELDS if send else ())
    detail = f"approved as {category}" + (", sent to the ILS" if send else "")
    audit.record(db_session(), staff_access("change", subject=f"registration:{registration_id}", patron_id=patron.id, fields=fields, detail=detail))
    if send:  # show the patron with the card number the ILS issued (a logged view), not in a cookie
        from elibrary.patrons.staff_views import _show

        flash(t("本登録にし、図書館システムに登録しました。", "Confirmed and registered in the ILS."), "info")
        return _show(patron)
    flash(t("本登録にしました。", "The registration was confirmed."), "info")
    return redirect(url_for("registrations.queue"), code=303)


@bp.post("/staff/registrations/<int:registration_id>/reject")
@staff_required("admin", "librarian")
def reject(registration_id: int):
    """Refuse: the registration's personal data is erased and the provisional card closed."""
    patron_id = registration.reject(db_session(), registration_id)
    audit.record(db_session(), staff_access("erase", subject=f"registration:{registration_id}", patron_id=patron_id, fields=FIELDS, detail="rejected"))
    flash(t("仮登録を取り消し、個人情報を削除しました。", "The registration was rejected and its personal data erased."), "info")
    return redirect(url_for("registrations.queue"), code=303)


def init_app(app: Flask) -> None:
    """Register the blueprints (registration, and the staff patron look-up)."""
    from elibrary.patrons import staff_views

    app.register_blueprint(bp)
    staff_views.init_app(app)
