"""Staff pages of the schools wing: roster upload → dry-run diff → confirm (librarians and admins)."""
from __future__ import annotations

import io
from pathlib import Path

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, send_file, url_for

from elibrary.db import utcnow
from elibrary.errors import DomainError
from elibrary.schools import directory, exporting, rollover, services, uploads
from elibrary.schools.directory import Actor
from elibrary.schools.importing import counts
from elibrary.schools.roster_csv import template_text
from elibrary.web.auth import current_staff, staff_required
from elibrary.web.i18n import current_locale, t
from elibrary.web.transactions import db_session, own_transactions, runtime

bp = Blueprint("schools", __name__, url_prefix="/admin/schools")
ROLES = services.ROSTER_ROLES


def _folder() -> Path:
    return Path(current_app.instance_path) / "roster-uploads"


def _actor() -> Actor:
    return Actor(current_staff.id, current_staff.email, request.remote_addr)


def _options() -> tuple[int | None, str | None]:
    year = request.form.get("year", "").strip()
    school = request.form.get("school", "").strip()
    return (int(year) if year.isdigit() else None), (school or None)


@bp.get("/roster")
@staff_required(*ROLES)
def roster_form():
    """The roster upload form, with the schools and the template download."""
    return render_template("schools/roster_upload.html", schools=directory.list_schools(db_session()), error=None)


@bp.post("/roster")
@staff_required(*ROLES)
@own_transactions  # a dry run only reads: no write lock is held while a large roster is planned
def roster_check():
    """Dry run of an uploaded roster: the diff and the rejected rows; nothing is written."""
    upload = request.files.get("roster")
    year, school = _options()
    session = db_session()
    if upload is None or not upload.filename:
        error = t("名簿ファイルを選んでください。", "Choose a roster file.")
        return render_template("schools/roster_upload.html", schools=directory.list_schools(session), error=error), 400
    data = upload.read()
    try:
        plan, _ = services.import_roster(session, runtime().cipher, data, _actor(), year=year, school_code=school, dry_run=True)
    except DomainError as exc:
        return render_template("schools/roster_upload.html", schools=directory.list_schools(session), error=exc.message(current_locale())), 400
    token = uploads.keep(_folder(), runtime().cipher, current_staff.id, data)
    return render_template("schools/roster_plan.html", plan=plan, counts=counts(plan), token=token, year=plan.year, school=school or "",
                           filename=upload.filename)


@bp.post("/roster/confirm")
@staff_required(*ROLES)
@own_transactions  # the passwords are hashed before the import's one writing transaction begins
def roster_confirm():
    """Import the roster checked a moment ago; the new accounts' initial passwords are shown this once."""
    token = request.form.get("token", "")
    year, school = _options()
    rt = runtime()
    try:
        data = uploads.load(_folder(), rt.cipher, current_staff.id, token)
        passwords = services.passwords_for(rt.db, rt.cipher, data, year=year, school_code=school)
        with rt.db.scope() as session:
            plan, result = services.import_roster(session, rt.cipher, data, _actor(), year=year, school_code=school, dry_run=False,
                                                  passwords=passwords)
    except DomainError as exc:
        return render_template("schools/roster_upload.html", schools=directory.list_schools(db_session()), error=exc.message(current_locale())), 400
    uploads.forget(_folder(), token)
    response = current_app.make_response(render_template("schools/roster_done.html", plan=plan, counts=counts(plan), credentials=result.credentials))
    response.headers["Cache-Control"] = "no-store"  # initial passwords: never kept by a browser or proxy
    return response


@bp.get("/roster/export.csv")
@staff_required(*ROLES)
def roster_export():
    """The year's roster with login ids (no names), to fill in next year's classes (UTF-8 with BOM for Excel)."""
    year = request.args.get("year", "")
    school = request.args.get("school", "").strip() or None
    year_value = int(year) if year.isdigit() else directory.current_school_year(utcnow())
    text = exporting.export_roster(db_session(), _actor(), year=year_value, school_code=school)
    name = f"roster-{year_value}-{school or 'all'}.csv"
    return send_file(io.BytesIO(text.encode("utf-8-sig")), mimetype="text/csv; charset=utf-8", as_attachment=True, download_name=name)


@bp.get("/roster/template.csv")
@staff_required(*ROLES)
def roster_template():
    """The roster CSV template (UTF-8 with BOM, so Excel opens it with the Japanese headers)."""
    data = io.BytesIO(template_text().encode("utf-8-sig"))
    return send_file(data, mimetype="text/csv; charset=utf-8", as_attachment=True, download_name="roster-template.csv")


def _rollover_page(error: str | None = None, status: int = 200):
    session = db_session()
    latest = rollover.latest_rollover(session)
    undo_reason = rollover.can_undo(session, latest) if latest else None
    year = directory.current_school_year(utcnow()) + (0 if utcnow().month in (4, 5) else 1)
    return render_template("schools/rollover.html", latest=latest, undo_reason=undo_reason, year=year, error=error), status


def _until(year: int):
    return rollover.graduate_until(runtime().settings.get("ELIBRARY_SCHOOLS_GRADUATE_UNTIL"), year)


@bp.get("/rollover")
@staff_required(*ROLES)
def rollover_form():
    """The roll-over wizard's first step: the new year and (optionally) its roster; the newest roll-over and its undo."""
    return _rollover_page()


@bp.post("/rollover")
@staff_required(*ROLES)
def rollover_preview():
    """Preview: what the roll-over would do (computed and rolled back); nothing is written."""
    year = request.form.get("year", "").strip()
    if not year.isdigit():
        return _rollover_page(t("新しい年度を西暦で入力してください(例: 2027)。", "Enter the new school year (e.g. 2027)."), 400)
    upload = request.files.get("roster")
    data = upload.read() if upload is not None and upload.filename else None
    session = db_session()
    try:
        roster = services.parse_roster(session, data) if data else None
        result = rollover.preview_rollover(session, runtime().cipher, int(year), until=_until(int(year)), roster=roster)
    except DomainError as exc:
        return _rollover_page(exc.message(current_locale()), 400)
    token = uploads.keep(_folder(), runtime().cipher, current_staff.id, data) if data else ""
    return render_template("schools/rollover_preview.html", result=result, until=_until(int(year)), token=token,
                           counts=counts(result.roster) if result.roster else None)


@bp.post("/rollover/confirm")
@staff_required(*ROLES)
@own_transactions  # the new roster's passwords are hashed before the roll-over's one writing transaction begins
def rollover_confirm():
    """Apply the previewed roll-over in one transaction."""
    year = int(request.form.get("year", "0") or 0)
    token = request.form.get("token", "")
    rt = runtime()
    try:
        data = uploads.load(_folder(), rt.cipher, current_staff.id, token) if token else None
        passwords = services.passwords_for(rt.db, rt.cipher, data, year=year) if data else None
        with rt.db.scope() as session:
            roster = services.parse_roster(session, data) if data else None
            result = rollover.apply_rollover(session, rt.cipher, year, _actor(), until=_until(year), roster=roster, passwords=passwords)
    except DomainError as exc:
        return _rollover_page(exc.message(current_locale()), 400)
    if token:
        uploads.forget(_folder(), token)
    credentials = result.imported.credentials if result.imported else []
    page = render_template("schools/rollover_done.html", result=result, until=_until(year), credentials=credentials,
                           counts=counts(result.roster) if result.roster else None)
    response = current_app.make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/rollover/undo")
@staff_required(*ROLES)
def rollover_undo():
    """Undo the newest roll-over (refused once a school account has signed in after it)."""
    try:
        row = rollover.undo_rollover(db_session(), _actor())
    except DomainError as exc:
        return _rollover_page(exc.message(current_locale()), exc.status)
    flash(t(f"{row.from_year}→{row.to_year}年度の年度更新を取り消しました。", f"The {row.from_year}→{row.to_year} roll-over was undone."), "info")
    return redirect(url_for("schools.rollover_form"), code=303)


def init_app(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
