"""The pages that read a distributor's files for selection (選書): importing ONIX or CSV into the candidate
pool, and receiving an order by its delivery file. They live here, beside the catalog's import page,
because the parsers are the import pipeline's; the pool, the lists and the orders are ``elibrary.selection``'s.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user

from catalog_import.pool import KINDS, delivered_isbns, run_pool_import
from catalog_import.pool_parse import OFFER_COLUMNS
from elibrary.errors import InvalidInput
from elibrary.selection import funds, receiving
from elibrary.web.auth import staff_required
from elibrary.web.i18n import t
from elibrary.web.transactions import db_session, own_transactions, runtime
from elibrary.web.uploads import scan_uploads

bp = Blueprint("pool_import", __name__, url_prefix="/staff/selection")
ROLES = ("admin", "librarian")
UPLOAD_SUFFIX = {"onix": ".xml", "csv": ".csv"}
MAX_DELIVERY = 20 * 1024 * 1024


def _staff():
    """The signed-in staff member (services check the role again)."""
    return current_user._get_current_object()


@bp.route("/import", methods=["GET", "POST"])
@own_transactions  # the import commits batch by batch in its own sessions
@staff_required(*ROLES)
def pool_import():
    """Upload a distributor's ONIX or CSV into the pool."""
    funds.require_selector(_staff())
    if request.method == "GET":
        return render_template("selection/import.html", columns=OFFER_COLUMNS, summary=None)
    kind = request.form.get("kind", "")
    upload = request.files.get("file")
    if kind not in KINDS or upload is None or not upload.filename:
        raise InvalidInput("形式とファイルを選んでください。", "Choose a format and a file.")
    scan_uploads([upload])  # ClamAV, when ELIBRARY_CLAMD_SOCKET is set
    with tempfile.TemporaryDirectory(prefix="elibrary-pool-") as folder:
        path = Path(folder) / f"pool{UPLOAD_SUFFIX[kind]}"
        upload.save(path)
        summary = run_pool_import(runtime(), kind, [str(path)], dry_run=bool(request.form.get("dry_run")))
    return render_template("selection/import.html", columns=OFFER_COLUMNS, summary=summary)


@bp.post("/orders/<int:order_id>/delivery")
@staff_required(*ROLES)
def receive_delivery(order_id: int):
    """Receive the lines a distributor's delivery file names."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput("納品ファイルを選んでください。", "Choose the delivery file.", field="file")
    scan_uploads([upload])
    data = upload.read(MAX_DELIVERY + 1)
    if len(data) > MAX_DELIVERY:
        raise InvalidInput("納品ファイルが大きすぎます。", "The delivery file is too large.", field="file")
    order, unknown = receiving.receive_delivery(db_session(), _staff(), order_id, delivered_isbns(data), cipher=runtime().cipher)
    flash(t(f"納品ファイルの本を納品済みにしました（発注 {order.number}）。", f"The delivered lines of {order.number} were received."), "info")
    if unknown:
        shown = ", ".join(unknown[:10])
        flash(t(f"この発注の未納品行にないISBN: {shown}", f"ISBNs not on order in this order: {shown}"), "warning")
    return redirect(url_for("acquisitions.order_page", order_id=order_id), code=303)


def init_app(app: Flask) -> None:
    """Register the blueprint (the selection pages' templates are the selection wing's)."""
    app.register_blueprint(bp)
