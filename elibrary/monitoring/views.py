"""``/metrics`` (Prometheus, configured addresses only), request metrics, and the security events page for admins."""
from __future__ import annotations

import csv
import io
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Response, abort, g, render_template, request
from flask_login import current_user

from elibrary.csvcells import safe_cell
from elibrary.db import utcnow
from elibrary.monitoring import metrics
from elibrary.security import events
from elibrary.security.throttle import address_in, parse_networks
from elibrary.web.auth import current_staff, staff_required
from elibrary.web.transactions import db_session, runtime

bp = Blueprint("security_events", __name__, url_prefix="/staff/security-events")
metrics_bp = Blueprint("metrics", __name__)
TOKYO = ZoneInfo("Asia/Tokyo")
EXPOSITION_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@metrics_bp.get("/metrics")
def prometheus():
    """The Prometheus text format, for the addresses of ``ELIBRARY_METRICS_ALLOW`` only (404 elsewhere)."""
    allowed = parse_networks(runtime().settings.get("ELIBRARY_METRICS_ALLOW"), "ELIBRARY_METRICS_ALLOW")
    if not address_in(request.remote_addr, allowed):
        abort(404)  # nothing to see here: not even whether metrics exist
    body = metrics.exposition(runtime(), runtime().gauges)
    return Response(body, mimetype=None, content_type=EXPOSITION_TYPE, headers={"Cache-Control": "no-store"})


def _filters() -> tuple[dict, str]:
    """The page's filters from the query string (kind, address, a card number or e-mail as its pseudonym, days)."""
    args = request.values
    filters: dict = {}
    if args.get("kind") in events.KINDS:
        filters["kind"] = args["kind"]
    if args.get("address"):
        filters["address"] = args["address"].strip()[:64]
    if args.get("who"):  # a card number or a staff e-mail, turned into the events' pseudonym (never stored or logged)
        kind = "staff" if "@" in args["who"] else "card"
        value = args["who"].strip()
        if kind == "card":
            from elibrary.security.crypto import normalize_card_number

            value = normalize_card_number(value)
        filters["subject"] = events.subject_ref(runtime().cipher, kind, value)
    elif args.get("subject", "").isalnum():  # the pseudonym itself (the export form carries it, never the card)
        filters["subject"] = args["subject"][:24]
    days = args.get("days", "7")
    filters["since"] = utcnow() - timedelta(days=int(days) if days.isdigit() and 0 < int(days) <= 400 else 7)
    return filters, days


@bp.route("/", methods=["GET", "POST"])
@staff_required("admin")
def search():
    """The newest security events (500 at most), with filters; POST keeps a typed card number out of the URL."""
    filters, days = _filters()
    rows = events.recent_events(db_session(), **filters, limit=500)
    return render_template("monitoring/security_events.html", rows=rows, kinds=events.KINDS, args=request.values, days=days, tz=TOKYO,
                           subject=filters.get("subject", ""), actors=events.ACTOR_LABELS)


@bp.post("/export.csv")
@staff_required("admin")
def export():
    """The same events as CSV (UTF-8 with BOM for Excel; cells made safe from formulas)."""
    filters, _days = _filters()
    rows = events.recent_events(db_session(), **filters, limit=100_000)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["at_utc", "kind", "actor_kind", "staff_id", "subject_ref", "client_address", "request_id", "detail"])
    for row in rows:
        detail = " ".join(f"{k}={v}" for k, v in sorted((row.detail or {}).items()))
        writer.writerow([safe_cell(v) for v in (row.at.isoformat(), row.kind, row.actor_kind, row.staff_id, row.subject_ref, row.client_address,
                                                row.request_id, detail)])
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="security-events.csv"', "Cache-Control": "no-store"})


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is None:
        return response
    endpoint = request.url_rule.endpoint if request.url_rule is not None else "unmatched"  # never the raw path
    process = metrics.process_metrics()
    process.requests.labels(endpoint=endpoint, method=request.method, status=str(response.status_code)).inc()
    process.latency.labels(endpoint=endpoint).observe(time.perf_counter() - started)
    if response.status_code == 403 and not g.get("walls_refused"):
        _record_refusal(endpoint)
    return response


def _record_refusal(endpoint: str) -> None:
    """A 403 is a security event (in a transaction of its own: the request's was rolled back)."""
    signed_in = bool(current_user.is_authenticated)
    staff = bool(current_staff.is_authenticated)
    actor = "staff" if staff else ("patron" if signed_in else "anonymous")
    events.record_security_event_now(runtime().db, "permission.refused", caller=db_session(), actor_kind=actor, staff_id=current_staff.id if staff else None,
                                     address=request.remote_addr, detail={"endpoint": endpoint, "method": request.method})


def init_app(app: Flask) -> None:
    """Register ``/metrics``, the security events page and the request timing hooks."""
    app.register_blueprint(metrics_bp)
    app.register_blueprint(bp)
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)  # first: requests refused early are counted too
    app.after_request(_observe)
