"""The licence check's pages (電子書籍の蔵書点検): upload a distributor's licence report, see what differs from
our licences, fix a line with one click, and download the result as a CSV for the auditor."""
from __future__ import annotations

import csv
import io

from flask import Blueprint, Flask, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from catalog_import.licence_report import COLUMNS, read_licence_report
from elibrary.csvcells import safe_cell
from elibrary.errors import InvalidInput
from elibrary.selection import reconcile
from elibrary.selection.offers import MODEL_LABELS
from elibrary.web.auth import staff_required
from elibrary.web.i18n import t
from elibrary.web.transactions import db_session, runtime

bp = Blueprint("licence_check", __name__, url_prefix="/staff/selection/licence-check")
ROLES = ("admin", "librarian")
MAX_REPORT = 30 * 1024 * 1024


def _staff():
    return current_user._get_current_object()


@bp.route("", methods=["GET", "POST"])
@staff_required(*ROLES)
def start():
    """Upload a licence report (POST) or see the form and the earlier checks."""
    session = db_session()
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise InvalidInput("ライセンス一覧のファイルを選んでください。", "Choose the licence report.", field="file")
        data = upload.read(MAX_REPORT + 1)
        if len(data) > MAX_REPORT:
            raise InvalidInput("ファイルが大きすぎます。", "The file is too large.", field="file")
        lines, problems, distributor = read_licence_report(data)
        run = reconcile.start_check(session, _staff(), lines, problems, filename=upload.filename, distributor=distributor,
                                    scope=request.form.get("scope", "listed"))
        return redirect(url_for("licence_check.result", run_id=run.id), code=303)
    return render_template("selection/licence_check.html", runs=reconcile.recent_checks(session, _staff()), columns=COLUMNS)


@bp.get("/<int:run_id>")
@staff_required(*ROLES)
def result(run_id: int):
    """What differs, with a fix per line."""
    session = db_session()
    run = reconcile.get_check(session, _staff(), run_id)
    results = reconcile.compare(session, run)
    counts = {kind: sum(1 for r in results if r.kind == kind) for kind in reconcile.KINDS}
    return render_template("selection/licence_check_result.html", run=run, differences=[r for r in results if r.kind != "match"],
                           counts=counts, kinds=reconcile.KINDS, models=MODEL_LABELS, field_labels=reconcile.FIELD_LABELS)


@bp.post("/<int:run_id>/fix")
@staff_required(*ROLES)
def fix(run_id: int):
    """Fix one difference as the report says."""
    done = reconcile.apply_fix(db_session(), _staff(), run_id, request.form.get("key", ""), cipher=runtime().cipher)
    flash(t(f"「{done.title}」（{done.label()}）を報告のとおりに直しました。", f"{done.title} ({done.label('en')}) now follows the report."), "info")
    return redirect(url_for("licence_check.result", run_id=run_id), code=303)


@bp.get("/<int:run_id>.csv")
@staff_required(*ROLES)
def result_csv(run_id: int):
    """Every line of the check, matches included, for the auditor (UTF-8 with BOM; cells neutralised)."""
    session = db_session()
    run = reconcile.get_check(session, _staff(), run_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["結果", "ISBN", "書名", "ライセンス種別", "報告の行", "報告: 同時貸出数", "報告: 残り回数", "報告: 有効期限",
                     "当館ライセンスID", "当館: 同時貸出数", "当館: 残り回数", "当館: 有効期限", "相違する項目"])
    for d in reconcile.compare(session, run):
        r, lic = d.report, d.licence
        writer.writerow([safe_cell(v) for v in (
            d.label(), d.isbn, d.title, MODEL_LABELS.get(d.model, (d.model,))[0], r.line if r else "", _blank(r and r.copies),
            _blank(r and r.loans), (r.until if r else "") or "", lic.id if lic else "", _blank(lic and lic.copies),
            _blank(lic and lic.loans_remaining), reconcile.end_date(lic) if lic else "", "・".join(reconcile.FIELD_LABELS[f] for f in d.fields))])
    for number, reason in run.problems:
        writer.writerow([safe_cell(v) for v in ("読めない行", "", "", "", number, "", "", "", "", "", "", "", reason)])
    return send_file(io.BytesIO(out.getvalue().encode("utf-8-sig")), mimetype="text/csv", as_attachment=True,
                     download_name=f"licence-check-{run.id}.csv")


def _blank(value) -> str:
    return "" if value in (None, False) else str(value)


def init_app(app: Flask) -> None:
    """Register the blueprint (templates are the selection wing's)."""
    app.register_blueprint(bp)
