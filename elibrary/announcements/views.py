"""Staff pages for announcements (お知らせ) and the home page's list of current ones."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for

from elibrary.announcements import services
from elibrary.errors import InvalidInput
from elibrary.line.notifier import parse_quiet_hours
from elibrary.web.auth import current_staff, staff_required
from elibrary.web.i18n import t
from elibrary.web.transactions import db_session, own_transactions, runtime

bp = Blueprint("announcements", __name__, url_prefix="/staff/announcements")
TOKYO = ZoneInfo("Asia/Tokyo")
STAFF = ("admin", "librarian")


def _local_time(field: str) -> datetime | None:
    value = request.form.get(field, "").strip()
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=TOKYO)
    except ValueError:
        raise InvalidInput("日時の形式が正しくありません。", "The date and time are not valid.", field=field) from None


@bp.route("", methods=["GET", "POST"])
@staff_required(*STAFF)
def staff_list():
    """Every announcement, and the form for a new one."""
    if request.method == "POST":
        row = services.create(
            db_session(), current_staff,
            title=request.form.get("title", ""), body=request.form.get("body", ""),
            audience=request.form.get("audience", "all"), audience_value=request.form.get("audience_value", ""),
            show_on_site=request.form.get("show_on_site") == "1", send_line=request.form.get("send_line") == "1",
            starts_at=_local_time("starts_at"), ends_at=_local_time("ends_at"),
        )
        return redirect(url_for("announcements.detail", announcement_id=row.id), code=303)
    return render_template("announcements/list.html", rows=services.listing(db_session()))


@bp.get("/<int:announcement_id>")
@staff_required(*STAFF)
def detail(announcement_id: int):
    """The preview: as it will look on the site and in LINE, who receives it, its status and counts."""
    db = db_session()
    row = services.get(db, announcement_id)
    recipients = len(services.line_recipients(db, runtime().cipher, row)) if row.send_line and row.audience != "patron" else None
    return render_template("announcements/detail.html", row=row, recipients=recipients, needs_approval=services.needs_approval(row))


@bp.post("/<int:announcement_id>/submit")
@staff_required(*STAFF)
def submit(announcement_id: int):
    """Ask an admin to approve (or make a one-patron message ready)."""
    services.submit(services.get(db_session(), announcement_id))
    flash(t("申請しました。", "Submitted."), "info")
    return redirect(url_for("announcements.detail", announcement_id=announcement_id), code=303)


@bp.post("/<int:announcement_id>/approve")
@staff_required("admin")
def approve(announcement_id: int):
    """An admin approves."""
    services.approve(services.get(db_session(), announcement_id), current_staff)
    flash(t("承認しました。", "Approved."), "info")
    return redirect(url_for("announcements.detail", announcement_id=announcement_id), code=303)


@bp.post("/<int:announcement_id>/send")
@staff_required(*STAFF)
@own_transactions  # the request's session only reads: no write lock is held while LINE answers
def send(announcement_id: int):
    """Send an approved announcement by LINE (a one-patron message through the outbox)."""
    rt = runtime()
    sent, failed = services.send(rt.db, rt.cipher, rt.line, announcement_id, quiet_hours=parse_quiet_hours(rt.settings.get("ELIBRARY_LINE_QUIET_HOURS")))
    flash(t(f"送信しました（{sent}人、失敗 {failed}人）。", f"Sent to {sent}; {failed} failed."), "error" if failed else "info")
    return redirect(url_for("announcements.detail", announcement_id=announcement_id), code=303)


def current_announcements():
    """For the home page: approved announcements inside their time window."""
    return services.on_site(db_session())


def init_app(app: Flask) -> None:
    """Register the blueprint and the home page's helper."""
    app.register_blueprint(bp)
    app.jinja_env.globals["current_announcements"] = current_announcements
