"""The access-log screen for admins: search by patron card, staff member and period; CSV export."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask, Response, render_template, request

from elibrary.audit import services
from elibrary.audit.cli import TOKYO, local_day_start
from elibrary.audit.request_access import staff_access  # noqa: F401 - its former home
from elibrary.web.auth import staff_required
from elibrary.web.transactions import db_session, runtime

bp = Blueprint("audit", __name__, url_prefix="/staff/audit")


def _filters():
    from click import BadParameter

    from elibrary.patrons.services import find_by_card

    args = request.form  # POST: a card number must never travel in a URL
    filters, error = {}, None
    try:
        if args.get("since"):
            filters["since"] = local_day_start(args["since"])
        if args.get("until"):
            filters["until"] = local_day_start(args["until"]) + timedelta(days=1)
    except BadParameter:
        error = ("日付は 2026-04-01 のように入力してください。", "Enter dates like 2026-04-01.")
    if args.get("staff"):
        filters["staff_email"] = args["staff"]
    if args.get("card"):
        patron = find_by_card(db_session(), runtime().cipher, args["card"])
        filters["patron_id"] = patron.id if patron else -1
    return filters, error


@bp.route("/", methods=["GET", "POST"])
@staff_required("admin")
def search():
    """Search form and results (the search itself is logged)."""
    if request.method == "GET":
        return render_template("audit/search.html", entries=None, error=None, args={}, tz=TOKYO)
    filters, error = _filters()
    entries = None
    if not error:
        entries = services.search(db_session(), **filters, limit=500)
        services.record(db_session(), staff_access("search", subject="audit-log", detail=_describe(filters)))
    return render_template("audit/search.html", entries=entries, error=error, args=request.form, tz=TOKYO), 400 if error else 200


@bp.post("/export.csv")
@staff_required("admin")
def export():
    """The same search as CSV (UTF-8 with BOM so Excel reads the Japanese)."""
    filters, error = _filters()
    if error:
        return Response(error[1], status=400, mimetype="text/plain")
    entries = services.search(db_session(), **filters, limit=None)
    services.record(db_session(), staff_access("export", subject="audit-log", detail=_describe(filters)))
    return Response(
        "\ufeff" + services.to_csv(entries),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="access-log.csv"', "Cache-Control": "no-store"},
    )


def _describe(filters: dict) -> str:
    # Which filters were used, never their values for patrons (a card number is personal data).
    parts = [f"patron_id={filters['patron_id']}" if "patron_id" in filters else ""]
    parts += [f"staff={filters['staff_email']}" if "staff_email" in filters else ""]
    parts += [f"{key}={filters[key].date().isoformat()}" for key in ("since", "until") if key in filters]
    return " ".join(p for p in parts if p)


def init_app(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
