"""Staff pages of the e-book stocktake (蔵書点検): upload the distributor's report, fix line by line, CSV for the auditor."""
from __future__ import annotations

import csv
import io
from datetime import datetime

from flask import Blueprint, Flask, Response, flash, redirect, render_template, request, url_for

from elibrary.csvcells import safe_cell
from elibrary.db import utcnow
from elibrary.errors import InvalidInput
from elibrary.lending.policy import TOKYO
from elibrary.stocktake import services
from elibrary.web.auth import current_staff, staff_required
from elibrary.web.i18n import t
from elibrary.web.transactions import db_session

bp = Blueprint("stocktake", __name__, url_prefix="/staff/stocktake")
STAFF = ("admin", "librarian")


@bp.route("", methods=["GET", "POST"])
@staff_required(*STAFF)
def index():
    """The upload form and the latest stocktakes."""
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise InvalidInput("ファイルを選んでください。", "Choose a file.", field="file")
        audit = services.import_report(db_session(), current_staff.id, upload.filename, upload.read())
        return redirect(url_for("stocktake.report", audit_id=audit.id), code=303)
    return render_template("stocktake/index.html", audits=services.recent(db_session()), local_time=_local_time)


@bp.get("/<int:audit_id>")
@staff_required(*STAFF)
def report(audit_id: int):
    """The differences, each with its fix."""
    session = db_session()
    audit = services.get(session, audit_id)
    return render_template("stocktake/report.html", audit=audit, lines=services.differences(session, audit, utcnow()), kinds=services.KINDS,
                           entries=len(services.entries_of(audit)), problems=services.problems_of(audit), fixes=services.fixes_of(audit),
                           local_time=_local_time)


def _local_time(moment: str | datetime) -> str:
    """``2026-12-06 09:30`` in Japan time, for staff."""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")


@bp.post("/<int:audit_id>/fix")
@staff_required(*STAFF)
def fix(audit_id: int):
    """One line's fix."""
    session = db_session()
    line = services.fix(session, services.get(session, audit_id), request.form.get("isbn", ""), request.form.get("kind", ""), current_staff.id,
                        utcnow())
    flash(t(f"{line.isbn}（{line.title}）を修正しました。", f"Fixed {line.isbn} ({line.title})."), "success")
    return redirect(url_for("stocktake.report", audit_id=audit_id), code=303)


@bp.get("/<int:audit_id>.csv")
@staff_required(*STAFF)
def report_csv(audit_id: int):
    """The differences still open and the fixes made, for the auditor (UTF-8 with BOM, opens in Excel)."""
    session = db_session()
    audit = services.get(session, audit_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["状態", "区分", "ISBN", "書名", "当館", "取次", "日時", "職員ID"])
    for line in services.differences(session, audit, utcnow()):
        writer.writerow([safe_cell(v) for v in ("未対応", services.KINDS[line.kind][0], line.isbn, line.title, line.ours, line.theirs, "", "")])
    for done in services.fixes_of(audit):
        writer.writerow([safe_cell(v) for v in ("修正済み", services.KINDS.get(done["kind"], (done["kind"],))[0], done["isbn"], "", done["before"],
                                                done["after"], done["at"], done["by"] or "")])
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="stocktake-{audit.id}.csv"', "Cache-Control": "no-store"})


def init_app(app: Flask) -> None:
    """Register the pages."""
    app.register_blueprint(bp)
