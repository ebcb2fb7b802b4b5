"""``/healthz/detail``: the detailed health report, for configured monitoring addresses and signed-in admins."""
from __future__ import annotations

from flask import Blueprint, Flask, abort, jsonify, request

from elibrary.db import utcnow
from elibrary.operations import checks
from elibrary.security.throttle import address_in, parse_networks
from elibrary.web.auth import current_staff
from elibrary.web.transactions import db_session, runtime

bp = Blueprint("operations", __name__)


def _allowed() -> bool:
    networks = parse_networks(runtime().settings.get("ELIBRARY_MONITORING_NETWORKS") or "")
    if address_in(request.remote_addr, networks):
        return True
    try:
        return bool(current_staff.is_authenticated and current_staff.role.value == "admin")
    except Exception:  # the database is down: only the monitoring addresses may read the report then
        return False


@bp.get("/healthz/detail")
def health_detail():
    """200 when every part is healthy, 503 otherwise (JSON); 404 for anyone not allowed to see it."""
    if not _allowed():
        abort(404)  # the report is not advertised to the public
    ok, report = checks.detail(runtime(), db_session(), utcnow())
    response = jsonify(status="ok" if ok else "degraded", checks=report)
    response.status_code = 200 if ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Register the report."""
    app.register_blueprint(bp)
