"""The maintenance gate in front of every request, the 「メンテナンス中」 page, and the admin page.

The gate runs before anything that could ask the database (it is registered before the search follower
and the scheduler, and reads only the flag file and the signed session cookie), so the page answers
while the database is down or being migrated.

Full mode: patrons and OPDS clients get 503 with ``Retry-After`` (OPDS: problem+json); staff pages,
signed-in staff, ``/healthz`` and static files pass. Read-only mode: everything passes but the
endpoints in ``PAUSED``, which answer when they will be back; every page shows a banner.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, flash, g, redirect, render_template, request, session, url_for

from elibrary.db import utcnow
from elibrary.maintenance import services
from elibrary.maintenance.flag import MaintenanceState
from elibrary.maintenance.times import describe_en, describe_ja, parse_when
from elibrary.security.events import record_security_event_now
from elibrary.web.auth import current_staff, staff_required
from elibrary.web.errors import problem_response, wants_json
from elibrary.web.i18n import t
from elibrary.web.transactions import db_session, runtime

log = logging.getLogger(__name__)
bp = Blueprint("maintenance", __name__, url_prefix="/staff/maintenance")

# Staff and operations keep working during a stop (signed-in staff pass everywhere, see ``_is_staff``).
OPEN_PREFIXES = ("/staff/", "/admin/", "/line/staff/", "/healthz", "/metrics", "/static/")
# What read-only mode pauses: borrowing, holds, renewals, registration, purchase requests.
PAUSED = frozenset({
    "lending.borrow", "lending.hold", "lending.renew", "lending.resume_hold", "opds.borrow",
    "registrations.register", "registrations.confirm",
})
PAUSED_POSTS = frozenset({"purchase_requests.patron_page"})


def _is_staff() -> bool:
    # The signed cookie alone (no database): flask-login keeps "s:<id>" for staff.
    return str(session.get("_user_id", "")).startswith("s:")


def active_state() -> MaintenanceState | None:
    """The stop in force for this request, if any (the flag as this worker last saw it)."""
    if "maintenance_state" not in g:
        state = runtime().maintenance.current()
        g.maintenance_state = state if state is not None and state.active(utcnow()) else None
    return g.maintenance_state


def gate() -> Response | None:
    """``before_request``: the maintenance page or the paused answer, or None to go on."""
    if request.path.startswith(OPEN_PREFIXES):
        return None
    state = active_state()
    if state is None or _is_staff():
        return None
    if not state.read_only:
        return _stopped(state, 503, "maintenance/page.html", "maintenance")
    paused = request.endpoint in PAUSED or (request.endpoint in PAUSED_POSTS and request.method == "POST")
    return _stopped(state, 503, "maintenance/paused.html", "maintenance-read-only") if paused else None


def _stopped(state: MaintenanceState, status: int, template: str, code: str) -> Response:
    now = utcnow()
    until_ja = describe_ja(state.until) if state.until else None
    until_en = describe_en(state.until) if state.until else None
    if wants_json():
        ja = "ただいまメンテナンス中です。" + (f"{until_ja}ごろ再開の予定です。" if until_ja else "")
        en = "The service is under maintenance." + (f" It should be back by {until_en}." if until_en else "")
        response = problem_response(status, code, ja, en, until=state.until.isoformat() if state.until else None, message=state.message)
    else:
        response = Response(render_template(template, state=state, until_ja=until_ja, until_en=until_en), status=status, mimetype="text/html")
    response.headers["Retry-After"] = str(state.retry_after(now))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("", methods=["GET", "POST"])
@staff_required("admin")
def admin():
    """Turn maintenance mode on or off (admins), the same as ``elibrary maintenance on|off``."""
    rt = runtime()
    path = rt.maintenance.path
    if request.method == "POST":
        now = utcnow()
        if request.form.get("action") == "off":
            services.stop(db_session(), path, now)
            log.warning("maintenance mode off (by staff %s)", current_staff.id)
            record_security_event_now(rt.db, "maintenance.off", caller=db_session(), actor_kind="staff", staff_id=current_staff.id,
                                      address=request.remote_addr)
            flash(t("メンテナンスモードを解除しました。", "Maintenance mode is off."), "success")
        else:
            at, until = request.form.get("at", "").strip(), request.form.get("until", "").strip()
            state = services.start(
                db_session(), path, now, lead_days=int(rt.settings.get("ELIBRARY_MAINTENANCE_NOTICE_DAYS") or 10),
                message=request.form.get("message", ""), starts_at=parse_when(at, now) if at else None,
                until=parse_when(until, now) if until else None, read_only=request.form.get("read_only") == "1", by=f"staff:{current_staff.id}",
            )
            log.warning("maintenance mode set (by staff %s): read_only=%s starts=%s until=%s", current_staff.id, state.read_only, state.starts_at, state.until)
            record_security_event_now(rt.db, "maintenance.on", caller=db_session(), actor_kind="staff", staff_id=current_staff.id,
                                      address=request.remote_addr, detail={"read_only": state.read_only})
            flash(t("メンテナンスモードを設定しました。", "Maintenance mode is set."), "success")
        return redirect(url_for("maintenance.admin"), code=303)
    state = rt.maintenance.read_now()
    return render_template("maintenance/admin.html", state=state, now=utcnow(), describe_ja=describe_ja, describe_en=describe_en)


def init_app(app: Flask) -> None:
    """The gate (first of the wings' request hooks), the banner helper and the admin page."""
    app.before_request(gate)
    app.register_blueprint(bp)

    @app.context_processor
    def maintenance_banner():
        def banner() -> dict | None:
            state = active_state()
            if state is None or not state.read_only:
                return None
            return {"until_ja": describe_ja(state.until) if state.until else None, "until_en": describe_en(state.until) if state.until else None,
                    "message": state.message}
        return {"maintenance_banner": banner}
