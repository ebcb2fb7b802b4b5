"""``/healthz``: database, search index and storage status for load balancers and monitoring."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from elibrary.web.transactions import db_session, runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 with component status when all are healthy, 503 otherwise."""
    rt = runtime()
    checks = {}
    try:
        db_session().execute(text("SELECT 1"))
        checks["database"] = {"ok": True, "engine": rt.db.engine.dialect.name}
    except Exception as exc:  # report, never raise: this page must answer when things are broken
        checks["database"] = {"ok": False, "error": type(exc).__name__}
    for name, backend in (("search", rt.search), ("storage", rt.storage)):
        try:
            checks[name] = backend.status()
        except Exception as exc:
            checks[name] = {"ok": False, "error": type(exc).__name__}
    try:  # how far this server's index is behind the change log every server writes
        checks["search"]["log"] = rt.indexer.lag(db_session())
    except Exception as exc:
        checks["search"]["log"] = {"error": type(exc).__name__}
    healthy = all(c.get("ok") for c in checks.values())
    response = jsonify(status="ok" if healthy else "unavailable", checks=checks)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response
