"""Staff pages of sign-in cards: a school's classes, a class's pupils (login ids), print or reissue cards, revoke one.

Teachers reach their own school only (``cards.may_manage_school``, checked in the service); librarians
and admins every school. A teacher signed in with their school account (QR card, SSO or login id: a patron
of category teacher, who borrows as one) reaches the same room as one signed in as staff. Seeing a class's
login ids and every reissue or revocation go to the access log.
"""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, Flask, Response, abort, flash, g, redirect, render_template, request, url_for

from elibrary.audit.recording import Access, record, record_now
from elibrary.audit.request_access import staff_access
from elibrary.db import utcnow
from elibrary.errors import InvalidInput
from elibrary.schools import cards, class_reading, signin_tokens
from elibrary.schools.directory import current_school_year
from elibrary.web.auth import current_patron, current_staff
from elibrary.web.i18n import t
from elibrary.web.transactions import db_session, runtime

bp = Blueprint("schools_cards", __name__, url_prefix="/staff/schools/cards")
ROLES = ("admin", "librarian", "teacher")


def room_required(view):
    """Staff (admin, librarian, teacher), or a teacher signed in with their school account; ``g.viewer`` is who."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_staff.is_authenticated:  # staff, or a teacher's school sign-in carrying their linked staff account
            if current_staff.role.value not in ROLES:
                abort(403)
            g.viewer = current_staff._get_current_object()
        elif current_patron.is_authenticated:
            g.viewer = cards.teacher_of_patron(db_session(), current_patron.id)
            if g.viewer is None:
                abort(403)
        else:
            return redirect(url_for("staff.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapper


def _access(action: str, **fields) -> Access:
    if getattr(g.viewer, "is_staff", False):
        return staff_access(action, **fields)
    return Access(staff_id=None, staff_email=f"teacher {g.viewer.login_id} ({g.viewer.school_code})", address=request.remote_addr, action=action,
                  subject=fields.get("subject", ""), patron_id=fields.get("patron_id"), fields=tuple(fields.get("fields", ())),
                  detail=fields.get("detail", ""))


def _viewer_id() -> str:
    return g.viewer.get_id() if getattr(g.viewer, "is_staff", False) else f"p:{g.viewer.patron_id}"


def _base_url() -> str:
    return runtime().settings.get("ELIBRARY_PUBLIC_URL") or request.host_url.rstrip("/")


@bp.get("/")
@room_required
def index():
    """The classes of a school (a teacher's own; librarians choose the school)."""
    from elibrary.schools.directory import list_schools

    teacher = getattr(g.viewer.role, "value", g.viewer.role) == "teacher"
    code = g.viewer.school_code if teacher else request.args.get("school", "")
    schools = [] if teacher else list_schools(db_session())
    school, classes = (None, [])
    if code:
        school, classes = cards.classes_of_school(db_session(), g.viewer, code, current_school_year(utcnow()))
    return render_template("schools/cards_index.html", school=school, classes=classes, schools=schools)


@bp.get("/<school_code>/<int:class_id>")
@room_required
def class_page(school_code: str, class_id: int):
    """A class's pupils with their login ids and cards (an access to personal data: logged)."""
    school, school_class, pupils = cards.class_pupils(db_session(), g.viewer, school_code, class_id)
    record_now(runtime().db, _access("view", subject=f"school-class:{class_id}", fields=("login_id",),
                                          detail=f"{school_code} {school_class.grade}-{school_class.name}"))
    total, reading = class_reading.class_borrowing(db_session(), class_id)
    return render_template("schools/cards_class.html", school=school, school_class=school_class, pupils=pupils, loans_total=total,
                           reading=reading, small_cell=class_reading.SMALL_CELL)


@bp.post("/<school_code>/<int:class_id>/print")
@room_required
def print_cards(school_code: str, class_id: int):
    """New cards for the whole class, or for one pupil (``patron_id``: a lost card, whose sign-ins end), as a PDF."""
    db, rt = db_session(), runtime()
    school, school_class, pupils = cards.class_pupils(db, g.viewer, school_code, class_id)
    chosen = request.form.get("patron_id", "")
    ids = [p.patron_id for p in pupils if str(p.patron_id) == chosen] if chosen else [p.patron_id for p in pupils]
    if not ids:
        raise InvalidInput("カードを作る児童・生徒を選んでください。", "Choose the pupils to make cards for.")
    entries = cards.issue_class_cards(db, rt.cipher, school_code=school_code, year=current_school_year(utcnow()),
                                      grade_class=(school_class.grade, school_class.name), base_url=_base_url(), issued_by=_viewer_id(),
                                      reset_passwords=request.form.get("new_passwords") == "1",
                                      patron_ids=ids, end_sessions=bool(chosen))
    for entry in entries:
        changed = ("signin_card", "password") if entry.password else ("signin_card",)
        record(db, _access("change", subject="school-card", patron_id=entry.patron_id, fields=changed, detail="reissue"))
    pdf = cards.render_cards_pdf(entries, rt.settings, title=f"ログインカード {school.name} {school_class.grade}-{school_class.name}",
                                 issued_on=signin_tokens.japan_today())
    name = f"cards-{school_code}-{school_class.grade}-{school_class.name}.pdf" if not chosen else f"card-{school_code}-{entries[0].login_id}.pdf"
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@bp.post("/<school_code>/<int:class_id>/revoke")
@room_required
def revoke(school_code: str, class_id: int):
    """Revoke one pupil's card (lost): its QR code stops at once and its sign-ins end."""
    db = db_session()
    _, _, pupils = cards.class_pupils(db, g.viewer, school_code, class_id)
    pupil = next((p for p in pupils if str(p.patron_id) == request.form.get("patron_id", "")), None)
    if pupil is None:
        raise InvalidInput("取り消すカードを選んでください。", "Choose the card to revoke.")
    signin_tokens.revoke_card(db, pupil.patron_id)
    record(db, _access("change", subject="school-card", patron_id=pupil.patron_id, fields=("signin_card",), detail="revoke"))
    flash(t(f"{pupil.login_id} のカードを取り消しました。", f"The card of {pupil.login_id} has been revoked."), "info")
    return redirect(url_for("schools_cards.class_page", school_code=school_code, class_id=class_id), code=303)


def init_app(app: Flask) -> None:
    """Register the blueprint (linked from the staff menu, and for teachers' school accounts from the site's nav)."""
    app.register_blueprint(bp)

    @app.context_processor
    def teacher_room_link() -> dict:
        # Teachers (a staff account of role teacher, linked or not) see the link; school accounts without one are
        # looked up: one query on their pages, none for anyone else.
        if current_staff.is_authenticated:
            return {"school_teacher_room": current_staff.role.value == "teacher"}
        if current_patron.is_authenticated and current_patron.source == "school":
            return {"school_teacher_room": cards.teacher_of_patron(db_session(), current_patron.id) is not None}
        return {"school_teacher_room": False}
