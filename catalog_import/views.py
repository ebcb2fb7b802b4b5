"""The admin's import page (一括登録): upload ONIX, MARC, EPUB or CSV files and see the same summary
and report of rejected records as the command line gives.

The upload is written to a private temporary folder under file names we make (never the uploaded
names), imported by ``runner.run_import`` in its own transaction (committed batch by batch), and
removed. The report is kept in the instance folder under a random id for download.
"""
from __future__ import annotations

import io
import re
import secrets
import tempfile
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, render_template, request, send_file
from flask_login import current_user

from catalog_import.report import template_csv
from catalog_import.runner import KINDS, run_import
from catalog_import.tabular import COLUMNS
from elibrary.security import events
from elibrary.web.auth import staff_required
from elibrary.web.i18n import t
from elibrary.web.transactions import own_transactions, runtime
from elibrary.web.uploads import scan_uploads

bp = Blueprint("catalog_import", __name__, url_prefix="/admin/import")
ADMIN_ROLES = ("admin", "librarian")
EXTENSIONS = {"onix": (".xml", ".onx", ".onix"), "marc": (".mrc", ".dat", ".marc", ".xml"), "epub": (".epub",), "csv": (".csv", ".tsv", ".txt")}
_REPORT_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def _reports_folder() -> Path:
    folder = Path(current_app.instance_path) / "import-reports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@bp.get("")
@staff_required(*ADMIN_ROLES)
def upload_form():
    """The upload form, with the CSV column mapping."""
    return render_template("import/upload.html", kinds=KINDS, columns=COLUMNS, kind=request.args.get("kind", "csv"))


@bp.post("")
@own_transactions  # the import commits batch by batch in its own sessions
@staff_required(*ADMIN_ROLES)
def upload():
    """Import the uploaded files and show the summary and the rejected records."""
    kind = request.form.get("kind", "")
    uploads = [f for f in request.files.getlist("files") if f and f.filename]
    if kind not in KINDS or not uploads:
        error = t("形式を選び、ファイルを1つ以上選んでください。", "Choose a format and at least one file.")
        return render_template("import/upload.html", kinds=KINDS, columns=COLUMNS, kind=kind or "csv", error=error), 400
    scan_uploads(uploads)  # ClamAV, when ELIBRARY_CLAMD_SOCKET is set: nothing is read before
    dry_run = bool(request.form.get("dry_run"))
    report_id = secrets.token_urlsafe(24)
    report_text = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="elibrary-import-") as folder:
        paths = []
        for index, upload_file in enumerate(uploads):
            suffix = Path(upload_file.filename).suffix.lower()
            suffix = suffix if suffix in EXTENSIONS[kind] else EXTENSIONS[kind][0]
            path = Path(folder) / f"upload-{index:03d}{suffix}"
            upload_file.save(path)
            paths.append(str(path))
        summary = run_import(runtime(), kind, paths, dry_run=dry_run, report=report_text, index="kick")
    for upload_file in uploads:
        upload_file.close()
    events.record_security_event_now(runtime().db, "import.run", actor_kind="staff", staff_id=current_user.id, address=request.remote_addr,
                                     detail={"format": kind, "files": len(uploads), "added": summary.added, "updated": summary.updated,
                                             "rejected": summary.rejected, "dry_run": dry_run})
    if summary.rejected:
        (_reports_folder() / f"{report_id}.csv").write_text(report_text.getvalue(), encoding="utf-8-sig")
    names = [f.filename for f in uploads]
    return render_template("import/result.html", summary=summary, kind=kind, names=names,
                           report_id=report_id if summary.rejected else None)


@bp.get("/reports/<report_id>.csv")
@staff_required(*ADMIN_ROLES)
def report(report_id: str):
    """Download the CSV report of rejected records of an upload."""
    if not _REPORT_ID.match(report_id):
        abort(404)
    path = _reports_folder() / f"{report_id}.csv"
    if not path.is_file():
        abort(404)
    return send_file(io.BytesIO(path.read_bytes()), mimetype="text/csv; charset=utf-8", as_attachment=True, download_name="import-report.csv")


@bp.get("/template.csv")
@staff_required(*ADMIN_ROLES)
def template():
    """The CSV template with the Japanese column headers (UTF-8 with BOM, for Excel)."""
    text = io.StringIO()
    template_csv(text)
    data = io.BytesIO(text.getvalue().encode("utf-8-sig"))
    return send_file(data, mimetype="text/csv; charset=utf-8", as_attachment=True, download_name="elibrary-import-template.csv")


def init_app(app: Flask) -> None:
    """Register the blueprint, and the selection pool's import and delivery pages (``pool_views``)."""
    from catalog_import import pool_views

    app.register_blueprint(bp)
    pool_views.init_app(app)
