"""Staff pages of the schools wing: roster upload → dry-run diff → confirm (librarians and admins)."""
from __future__ import annotations

import io
from pathlib import Path

from flask import Blueprint, Flask, current_app, render_template, request, send_file
from flask_login import current_user

from elibrary.errors import DomainError
from elibrary.schools import directory, services, uploads
from elibrary.schools.directory import Actor
from elibrary.schools.importing import counts
from elibrary.schools.roster_csv import template_text
from elibrary.web.auth import staff_required
from elibrary.web.i18n import current_locale, t
from elibrary.web.transactions import db_session, runtime

bp = Blueprint("schools", __name__, url_prefix="/admin/schools")
ROLES = services.ROSTER_ROLES


def _folder() -> Path:
    return Path(current_app.instance_path) / "roster-uploads"


def _actor() -> Actor:
    return Actor(current_user.id, current_user.email, request.remote_addr)


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
    token = uploads.keep(_folder(), runtime().cipher, current_user.id, data)
    return render_template("schools/roster_plan.html", plan=plan, counts=counts(plan), token=token, year=plan.year, school=school or "",
                           filename=upload.filename)


@bp.post("/roster/confirm")
@staff_required(*ROLES)
def roster_confirm():
    """Import the roster checked a moment ago; the new accounts' initial passwords are shown this once."""
    token = request.form.get("token", "")
    year, school = _options()
    session = db_session()
    try:
        data = uploads.load(_folder(), runtime().cipher, current_user.id, token)
        plan, result = services.import_roster(session, runtime().cipher, data, _actor(), year=year, school_code=school, dry_run=False)
    except DomainError as exc:
        return render_template("schools/roster_upload.html", schools=directory.list_schools(session), error=exc.message(current_locale())), 400
    uploads.forget(_folder(), token)
    response = current_app.make_response(render_template("schools/roster_done.html", plan=plan, counts=counts(plan), credentials=result.credentials))
    response.headers["Cache-Control"] = "no-store"  # initial passwords: never kept by a browser or proxy
    return response


@bp.get("/roster/template.csv")
@staff_required(*ROLES)
def roster_template():
    """The roster CSV template (UTF-8 with BOM, so Excel opens it with the Japanese headers)."""
    data = io.BytesIO(template_text().encode("utf-8-sig"))
    return send_file(data, mimetype="text/csv; charset=utf-8", as_attachment=True, download_name="roster-template.csv")


def init_app(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
