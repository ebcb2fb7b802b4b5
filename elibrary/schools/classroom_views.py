"""The class shelf pages: teachers and librarians put class sets and assigned reading on a class's shelf
(``/classroom``); a pupil's home (``/school``) shows that shelf first, in large print with furigana where the
school wants it, and opens a book in the reader with one tap."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for

from elibrary.catalog.models import Title
from elibrary.catalog.titles import find_title
from elibrary.db import utcnow
from elibrary.errors import DomainError, InvalidInput, NotFound
from elibrary.lending import services as lending
from elibrary.lending.policy import tokyo_today
from elibrary.schools import classroom
from elibrary.schools.shelf_models import SHELF_KINDS
from elibrary.web.auth import current_patron, current_staff, patron_required, staff_required
from elibrary.web.i18n import t
from elibrary.web.transactions import db_session, runtime

bp = Blueprint("classroom", __name__)
ROLES = ("admin", "librarian", "teacher")


def _staff():
    return current_staff._get_current_object()


@bp.get("/classroom")
@staff_required(*ROLES)
def index():
    """This 年度's classes the staff member may manage (a teacher: their own school's)."""
    return render_template("classroom/index.html", classes=classroom.classes_for(db_session(), _staff()))


@bp.get("/classroom/<int:class_id>")
@staff_required(*ROLES)
def shelf(class_id: int):
    """A class's shelf and the form to add a title."""
    session = db_session()
    school_class, school = classroom.class_of(session, _staff(), class_id)
    today = tokyo_today(utcnow())
    return render_template("classroom/shelf.html", school_class=school_class, school=school, items=classroom.shelf_of_class(session, class_id),
                           size=classroom.class_size(session, class_id), kinds=SHELF_KINDS, today=today,
                           default_end=today + timedelta(days=14))


def _title_from_form(session) -> Title:
    return find_title(session, request.form.get("title") or "")


def _day(name: str) -> date:
    try:
        return date.fromisoformat(request.form.get(name, ""))
    except ValueError:
        raise InvalidInput("日付を選んでください。", "Choose a date.", field=name) from None


@bp.post("/classroom/<int:class_id>/preview")
@staff_required(*ROLES)
def preview(class_id: int):
    """What the class set or assignment would use, shown before the teacher confirms."""
    session = db_session()
    school_class, school = classroom.class_of(session, _staff(), class_id)
    title = _title_from_form(session)
    kind = request.form.get("kind", "")
    if kind not in SHELF_KINDS:
        raise InvalidInput("種類を選んでください（一斉読書・課題図書）。", "Choose class set or assigned reading.", field="kind")
    plan = classroom.seat_plan(session, title.id, classroom.class_size(session, class_id))
    return render_template("classroom/preview.html", school_class=school_class, school=school, title=title, kind=kind, plan=plan,
                           kinds=SHELF_KINDS, starts_on=_day("starts_on"), ends_on=_day("ends_on"), note=request.form.get("note", "")[:200])


@bp.post("/classroom/<int:class_id>/add")
@staff_required(*ROLES)
def add(class_id: int):
    """Put the title on the class's shelf (after the preview)."""
    session = db_session()
    title = _title_from_form(session)
    classroom.add_to_shelf(session, _staff(), class_id, title.id, request.form.get("kind", ""), _day("starts_on"), _day("ends_on"),
                           request.form.get("note", ""), address=request.remote_addr)
    flash(t(f"「{title.title}」をクラスの本棚に入れました。", f"{title.title} is on the class shelf."), "info")
    return redirect(url_for("classroom.shelf", class_id=class_id), code=303)


@bp.post("/classroom/items/<int:item_id>/remove")
@staff_required(*ROLES)
def remove(item_id: int):
    """Take a title off the class's shelf."""
    item = classroom.remove_from_shelf(db_session(), _staff(), item_id, address=request.remote_addr)
    flash(t("クラスの本棚から外しました。", "Removed from the class shelf."), "info")
    return redirect(url_for("classroom.shelf", class_id=item.class_id), code=303)


@bp.get("/school")
@patron_required
def pupil_home():
    """A pupil's home: the class shelf first (class sets, then assigned reading), large, with furigana where wanted."""
    session = db_session()
    patron = current_patron._get_current_object()
    place = classroom.place_of(session, patron)
    if place is None:
        return redirect(url_for("catalog.home"))
    today = tokyo_today(utcnow())
    items = classroom.shelf_of_class(session, place.school_class.id, today) if place.school_class else []
    loans = classroom.titles_on_loan(session, patron)
    return render_template("classroom/pupil_home.html", place=place, items=items, loans=loans, kinds=SHELF_KINDS, today=today)


@bp.post("/school/read/<int:title_id>")
@patron_required
def read(title_id: int):
    """One tap from the pupil's home to the reader: borrow when needed (under every lending rule), then open it."""
    session = db_session()
    patron = current_patron._get_current_object()
    title = session.get(Title, title_id)
    if title is None:
        raise NotFound("本が見つかりません。", "No such title.")
    if not lending.can_read(session, patron, title):
        try:
            lending.borrow(session, patron, title_id, cipher=runtime().cipher)
        except DomainError as exc:
            flash(t(exc.message_ja, exc.message_en), "warning")
            return redirect(url_for("classroom.pupil_home"), code=303)
    return redirect(url_for("readers.reader", title_id=title_id), code=303)


def init_app(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
