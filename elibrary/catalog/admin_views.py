"""Staff admin of the catalog (資料管理): titles (add, edit, withdraw, reinstate, cover) and shelves.

Every view needs a signed-in admin or librarian. A form that fails validation is shown again with
the message and what was typed, with status 400/409; the request transaction then rolls back, so
nothing is stored half-way (the cover is validated before it is written).
"""
from __future__ import annotations

import math

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from sqlalchemy import func, or_, select

from elibrary.catalog import admin_forms, covers, services, shelves
from elibrary.catalog.models import ROLE_LABELS, Shelf, Title, TitleStatus
from elibrary.errors import DomainError, InvalidInput
from elibrary.web.auth import staff_required
from elibrary.web.i18n import current_locale, t
from elibrary.web.transactions import db_session, rollback_request_session, runtime
from elibrary.web.uploads import scan_uploads

bp = Blueprint("admin", __name__, url_prefix="/admin")
ADMIN_ROLES = ("admin", "librarian")
LIST_PAGE_SIZE = 50


@bp.get("/titles")
@staff_required(*ADMIN_ROLES)
def titles():
    """All titles (withdrawn ones too), newest first, filtered by words in the title, reading or ISBN."""
    q = " ".join(request.args.get("q", "").split())[:200]
    status = request.args.get("status", "")
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    stmt = select(Title)
    if q:
        digits = "".join(ch for ch in q if ch.isdigit())
        conditions = [Title.title.contains(q, autoescape=True), Title.title_reading.contains(q, autoescape=True)]
        if len(digits) >= 10:
            conditions.append(Title.isbn.contains(digits[-13:], autoescape=True))
        stmt = stmt.where(or_(*conditions))
    if status in (s.value for s in TitleStatus):
        stmt = stmt.where(Title.status == TitleStatus(status))
    session = db_session()
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(Title.created_at.desc(), Title.id.desc()).limit(LIST_PAGE_SIZE).offset((page - 1) * LIST_PAGE_SIZE)).all()
    return render_template(
        "admin/titles.html", titles=rows, total=total, q=q, status=status, page=page, last_page=max(math.ceil(total / LIST_PAGE_SIZE), 1)
    )


@bp.route("/titles/new", methods=["GET", "POST"])
@staff_required(*ADMIN_ROLES)
def new_title():
    """Add a title (書誌登録), with an optional cover."""
    if request.method == "GET":
        return _form_page(admin_forms.empty_form(), None)
    state = admin_forms.form_from_request(request.form)
    session = db_session()
    try:
        record = services.create_title(session, admin_forms.title_data(state))
        _store_cover(record)
    except DomainError as exc:
        return _form_page(state, None, exc)
    flash(t(f"「{record.title}」を登録しました。", f"Added “{record.title}”."), "info")
    return redirect(url_for("admin.edit_title", title_id=record.id), code=303)


@bp.route("/titles/<int:title_id>/edit", methods=["GET", "POST"])
@staff_required(*ADMIN_ROLES)
def edit_title(title_id: int):
    """Edit a title's record and cover."""
    session = db_session()
    record = services.get_title(session, title_id, include_withdrawn=True)
    if request.method == "GET":
        return _form_page(admin_forms.form_from_title(record), record)
    state = admin_forms.form_from_request(request.form)
    try:
        services.update_title(session, record, admin_forms.title_data(state, record))
        if request.form.get("remove_cover"):
            covers.remove_cover(session, record)
        _store_cover(record)
    except DomainError as exc:
        return _form_page(state, record, exc)
    flash(t("保存しました。", "Saved."), "info")
    return redirect(url_for("admin.edit_title", title_id=record.id), code=303)


@bp.post("/titles/<int:title_id>/withdraw")
@staff_required(*ADMIN_ROLES)
def withdraw_title(title_id: int):
    """Withdraw (除籍): the title disappears from the OPAC and search."""
    record = services.withdraw_title(db_session(), services.get_title(db_session(), title_id, include_withdrawn=True))
    flash(t(f"「{record.title}」を除籍しました。", f"Withdrew “{record.title}”."), "info")
    return redirect(url_for("admin.edit_title", title_id=title_id), code=303)


@bp.post("/titles/<int:title_id>/reinstate")
@staff_required(*ADMIN_ROLES)
def reinstate_title(title_id: int):
    """Undo a withdrawal."""
    record = services.reinstate_title(db_session(), services.get_title(db_session(), title_id, include_withdrawn=True))
    flash(t(f"「{record.title}」を再公開しました。", f"Reinstated “{record.title}”."), "info")
    return redirect(url_for("admin.edit_title", title_id=title_id), code=303)


def _store_cover(record: Title) -> None:
    upload = request.files.get("cover")
    if upload is not None and upload.filename:
        scan_uploads([upload])  # ClamAV, when ELIBRARY_CLAMD_SOCKET is set
        covers.set_cover(db_session(), runtime().storage, record, upload.stream)


def _form_page(state: dict, record: Title | None, error: DomainError | None = None):
    if error is not None:
        rollback_request_session()
    status = error.status if error is not None else 200
    return render_template(
        "admin/title_form.html",
        form=state,
        record=record,
        error=error.message(current_locale()) if error else None,
        error_field=(error.detail.get("field") if error else None),
        roles=ROLE_LABELS,
        accessibility_features=services.ACCESSIBILITY_FEATURES,
        collections=services.list_collections(db_session()),
    ), status


@bp.get("/shelves")
@staff_required(*ADMIN_ROLES)
def shelf_list():
    """Every shelf, in display order, and a form to add one."""
    rows = db_session().scalars(select(Shelf).order_by(Shelf.position, Shelf.id)).all()
    return render_template("admin/shelves.html", shelves=rows, form={}, error=None)


@bp.post("/shelves")
@staff_required(*ADMIN_ROLES)
def create_shelf():
    """Add a shelf (特集棚)."""
    form = request.form
    try:
        shelf = shelves.create_shelf(
            db_session(), form.get("slug", "").strip(), form.get("name", ""), name_en=form.get("name_en", "").strip(),
            description=form.get("description", "").strip(), audience=form.get("audience", ""), is_public=bool(form.get("is_public")),
        )
    except DomainError as exc:
        rollback_request_session()
        rows = db_session().scalars(select(Shelf).order_by(Shelf.position, Shelf.id)).all()
        return render_template("admin/shelves.html", shelves=rows, form=form, error=exc.message(current_locale())), exc.status
    flash(t(f"棚「{shelf.name}」を作りました。", f"Created the shelf “{shelf.name}”."), "info")
    return redirect(url_for("admin.shelf", slug=shelf.slug), code=303)


@bp.get("/shelves/<slug>")
@staff_required(*ADMIN_ROLES)
def shelf(slug: str):
    """A shelf's titles in order, with forms to add, move and remove them."""
    record = shelves.get_shelf(db_session(), slug, include_private=True)
    return render_template("admin/shelf.html", shelf=record)


@bp.post("/shelves/<slug>/items")
@staff_required(*ADMIN_ROLES)
def shelf_items(slug: str):
    """Add a title (by id or ISBN), move one to a position, or take one off."""
    session = db_session()
    record = shelves.get_shelf(session, slug, include_private=True)
    action = request.form.get("action", "add")
    key = request.form.get("title", "").strip()
    title = _title_by_key(key)
    if action == "remove":
        shelves.remove_from_shelf(session, record, title)
        flash(t(f"「{title.title}」を棚から外しました。", f"Removed “{title.title}” from the shelf."), "info")
    else:
        position = request.form.get("position", type=int)
        shelves.add_to_shelf(session, record, title, position)
        flash(t(f"「{title.title}」を棚に置きました。", f"Placed “{title.title}” on the shelf."), "info")
    return redirect(url_for("admin.shelf", slug=slug), code=303)


def _title_by_key(key: str) -> Title:
    """A title from a staff-typed key: its id, or an ISBN (raises a domain error otherwise)."""
    if not key:
        raise InvalidInput("資料のIDまたはISBNを入力してください。", "Enter a title id or ISBN.", field="title")
    if key.isdigit() and len(key) < 10:
        return services.get_title(db_session(), key, include_withdrawn=True)
    found = services.find_title_by_isbn(db_session(), key)
    if found is None:
        raise InvalidInput(f"ISBN {key[:20]} の資料は登録されていません。", f"No title with ISBN {key[:20]}.", field="title")
    return found


def init_app(app: Flask) -> None:
    """Register the admin blueprint."""
    app.register_blueprint(bp)
