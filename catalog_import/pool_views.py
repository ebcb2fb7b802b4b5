"""The pages that read a distributor's files for selection (選書): importing ONIX or CSV into the candidate
pool, and receiving an order by its delivery file. They live here, beside the catalog's import page,
because the parsers are the import pipeline's; the pool, the lists and the orders are ``elibrary.selection``'s.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.utils import secure_filename

from catalog_import.pool import KINDS, delivered_books, delivered_isbns, run_pool_import, unpack_books
from catalog_import.pool_parse import OFFER_COLUMNS
from elibrary.errors import InvalidInput
from elibrary.selection import funds, receiving
from elibrary.web.auth import staff_required
from elibrary.web.i18n import t
from elibrary.web.transactions import own_transactions, runtime
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
@own_transactions  # the files are scanned, unpacked and read before the one writing transaction begins
@staff_required(*ROLES)
def receive_delivery(order_id: int):
    """Receive the lines a distributor's delivery notice (ONIX or CSV) names, with the book files delivered with
    it; or, without a notice, attach book files that arrived late (ファイル未着) to lines already received.

    The virus scan, the unpacking and the reading of every book (seconds to minutes for a large delivery)
    happen before the writing transaction begins, so on SQLite sign-ins and loans do not wait for them.
    """
    notice = request.files.get("file")
    uploads = [upload for upload in request.files.getlist("books") if upload and upload.filename]
    if (notice is None or not notice.filename) and not uploads:
        raise InvalidInput("納品ファイルか本のファイルを選んでください。", "Choose the delivery file or book files.", field="file")
    scan_uploads([notice, *uploads])  # ClamAV, when ELIBRARY_CLAMD_SOCKET is set
    rt = runtime()
    with tempfile.TemporaryDirectory(prefix="elibrary-delivery-") as folder:
        books, problems = delivered_books(_saved_books(uploads, Path(folder)))
        if notice is not None and notice.filename:
            data = notice.read(MAX_DELIVERY + 1)
            if len(data) > MAX_DELIVERY:
                raise InvalidInput("納品ファイルが大きすぎます。", "The delivery file is too large.", field="file")
            with rt.db.scope() as session:
                order, unknown = receiving.receive_delivery(session, _staff(), order_id, delivered_isbns(data), cipher=rt.cipher,
                                                            storage=rt.storage, books=books)
            flash(t(f"納品ファイルの本を納品済みにしました（発注 {order.number}）。", f"The delivered lines of {order.number} were received."), "info")
        else:
            with rt.db.scope() as session:
                count, unknown = receiving.attach_delivered_books(session, _staff(), order_id, books, storage=rt.storage, cipher=rt.cipher)
            flash(t(f"{count}冊のファイルを登録し、貸出できるようにしました。", f"Files attached: {count} titles can now be borrowed."), "info")
    if unknown:
        shown = ", ".join(unknown[:10])
        flash(t(f"この発注の対象にないISBN: {shown}", f"ISBNs not waiting in this order: {shown}"), "warning")
    for problem in problems[:10]:
        flash(t(f"使えなかったファイル: {problem}", f"File not used: {problem}"), "warning")
    return redirect(url_for("acquisitions.order_page", order_id=order_id), code=303)


def _saved_books(uploads, folder: Path) -> list[Path]:
    """The uploaded book files (EPUB, PDF, or ZIPs of them) on disk, each under its own safe name."""
    paths: list[Path] = []
    for number, upload in enumerate(uploads):
        place = folder / f"{number:03d}"
        place.mkdir()
        name = secure_filename(upload.filename or "") or "book"
        upload.save(place / name)
        paths.extend(unpack_books(place / name, place))
    return paths


def init_app(app: Flask) -> None:
    """Register the blueprint (the selection pages' templates are the selection wing's)."""
    app.register_blueprint(bp)
