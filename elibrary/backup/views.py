"""``/staff/backups``: scheduled backups and restore drills with size and result (admins)."""
from __future__ import annotations

from flask import Blueprint, Flask, render_template

from elibrary.backup import schedule
from elibrary.db import utcnow
from elibrary.web.auth import staff_required
from elibrary.web.transactions import db_session, runtime

bp = Blueprint("backups", __name__, url_prefix="/staff/backups")


def human_size(size: int) -> str:
    """``1.2 GB``-style sizes for people."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


@bp.get("")
@staff_required("admin")
def backup_list():
    """The recent runs, the settings they follow, and the health verdict."""
    settings = runtime().settings
    session = db_session()
    return render_template(
        "backup/list.html", runs=schedule.recent_runs(session), status=schedule.status(session, settings, utcnow()), settings=settings,
        retention=schedule.Retention.from_settings(settings), folder=schedule.backup_dir(settings), human_size=human_size, tokyo=schedule.TOKYO,
    )


def init_app(app: Flask) -> None:
    """Register the page."""
    app.register_blueprint(bp)
