"""Patron lending pages: マイ本棚 (/shelf) and the borrow, hold, return, renew and hold-change actions.

Each POST calls one service; refusals are ``DomainError``s that ``web/errors.py`` turns into a flash
message on the page the patron came from. Staff pages are in ``staff_views.py``.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for

from elibrary.errors import InvalidInput
from elibrary.lending import availability as availability_queries
from elibrary.lending import outlook, policy, services
from elibrary.web.auth import current_patron, patron_required
from elibrary.web.formatting import format_day, format_moment
from elibrary.web.i18n import current_locale, t
from elibrary.web.safety import safe_next_url
from elibrary.web.transactions import db_session, runtime

bp = Blueprint("lending", __name__)


def _back():
    return redirect(safe_next_url(request.form.get("next")) or url_for("lending.shelf"), code=303)


@bp.get("/shelf")
@patron_required
def shelf():
    """マイ本棚: the patron's loans and holds."""
    view = services.shelf(db_session(), current_patron)
    return render_template("lending/shelf.html", shelf=view, today=date.today())


def _channel() -> str:
    """For statistics: the LINE MINI App runs in LINE's in-app browser (" Line/" in its User-Agent); else the site."""
    return "line" if " Line/" in (request.headers.get("User-Agent") or "") else "web"


@bp.post("/titles/<int:title_id>/borrow")
@patron_required
def borrow(title_id: int):
    """借りる."""
    loan = services.borrow(db_session(), current_patron, title_id, cipher=runtime().cipher, channel=_channel())
    flash(t(f"借りました。返却期限: {_local(loan.due_at)}", f"Borrowed. Due: {_local(loan.due_at)}"), "success")
    return _back()


@bp.post("/titles/<int:title_id>/hold")
@patron_required
def hold(title_id: int):
    """予約する."""
    placed = services.place_hold(db_session(), current_patron, title_id, channel=_channel())
    position = services.availability(db_session(), title_id, current_patron).position or placed.queue_seq
    flash(t(f"予約しました。順番は{position}番目です。", f"Hold placed. You are number {position} in the queue."), "success")
    return _back()


@bp.get("/loans/<int:loan_id>/return")
@patron_required
def confirm_return(loan_id: int):
    """返却の確認: returning early ends the reading, so the patron is asked once."""
    loan, title = services.loan_of(db_session(), current_patron, loan_id)
    next_url = safe_next_url(request.args.get("next")) or url_for("lending.shelf")
    return render_template("lending/confirm_return.html", loan=loan, title=title, next_url=next_url)


@bp.post("/loans/<int:loan_id>/return")
@patron_required
def return_loan(loan_id: int):
    """返却する."""
    services.return_loan(db_session(), current_patron, loan_id, cipher=runtime().cipher)
    flash(t("返却しました。", "Returned."), "success")
    return _back()


@bp.post("/loans/<int:loan_id>/renew")
@patron_required
def renew(loan_id: int):
    """延長する."""
    loan = services.renew(db_session(), current_patron, loan_id)
    flash(t(f"延長しました。新しい返却期限: {_local(loan.due_at)}", f"Renewed. New due date: {_local(loan.due_at)}"), "success")
    return _back()


@bp.post("/holds/<int:hold_id>/cancel")
@patron_required
def cancel_hold(hold_id: int):
    """予約を取り消す."""
    services.cancel_hold(db_session(), current_patron, hold_id, cipher=runtime().cipher)
    flash(t("予約を取り消しました。", "Hold cancelled."), "success")
    return _back()


@bp.post("/holds/<int:hold_id>/suspend")
@patron_required
def suspend_hold(hold_id: int):
    """予約を休止する (until a date; the place is kept)."""
    raw = request.form.get("until", "")
    try:
        until = date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput("再開日を YYYY-MM-DD で入力してください。", "Enter the resume date as YYYY-MM-DD.", field="until") from None
    services.suspend_hold(db_session(), current_patron, hold_id, until, cipher=runtime().cipher)
    shown = format_day(until, current_locale())
    flash(t(f"{shown}まで予約を休止します。順番はそのままです。", f"Hold suspended until {shown}; your place is kept."), "success")
    return _back()


@bp.post("/holds/<int:hold_id>/resume")
@patron_required
def resume_hold(hold_id: int):
    """予約を再開する."""
    services.resume_hold(db_session(), current_patron, hold_id, cipher=runtime().cipher)
    flash(t("予約を再開しました。", "Hold resumed."), "success")
    return _back()


@bp.get("/shelf/history")
@patron_required
def history():
    """読書記録: kept only if the patron opted in."""
    entries = services.reading_history(db_session(), current_patron)
    titles = {title.id: title for title in _titles(entries)}
    return render_template("lending/history.html", entries=entries, titles=titles)


@bp.post("/shelf/history")
@patron_required
def set_history():
    """Switch the reading history on or off (off deletes it)."""
    keep = request.form.get("keep") == "1"
    services.set_reading_history(db_session(), current_patron, keep)
    flash(
        t("読書記録を残します。", "Your reading history will be kept.") if keep
        else t("読書記録を残しません。記録は削除しました。", "Reading history is off and was deleted."),
        "success",
    )
    return redirect(url_for("lending.history"), code=303)


@bp.post("/shelf/history/delete")
@patron_required
def delete_history():
    """Delete the kept reading history (the setting stays as it is)."""
    count = services.delete_reading_history(db_session(), current_patron)
    flash(t(f"読書記録を{count}件削除しました。", f"Deleted {count} history entries."), "success")
    return redirect(url_for("lending.history"), code=303)


def _titles(entries):
    from sqlalchemy import select

    from elibrary.catalog.models import Title

    ids = {entry.title_id for entry in entries}
    return db_session().scalars(select(Title).where(Title.id.in_(ids))).all() if ids else []


def _local(moment) -> str:
    return format_moment(moment, current_locale())


def title_lending(title):
    """Template global for the OPAC title page: the title's availability as the current user sees it."""
    if title is None:
        return None
    return availability_queries.availability(db_session(), title.id, _signed_in_patron())


def _signed_in_patron():
    return current_patron._get_current_object() if current_patron.is_authenticated else None


def lending_outlooks(titles) -> dict:
    """Template global: ``{title_id: Outlook}`` for a page of titles, as the signed-in patron sees them (one batch)."""
    return outlook.outlooks(db_session(), [title.id for title in titles], _signed_in_patron())


def patron_notices():
    """Template global: the signed-in patron's ready holds and loans ending soon (None for others)."""
    patron = _signed_in_patron()
    return availability_queries.patron_notices(db_session(), patron) if patron is not None else None


def title_outlook(title):
    """Template global: one title's outlook for the signed-in patron."""
    return outlook.outlook(db_session(), title.id, _signed_in_patron())


def category_label(code) -> str:
    """Template filter: a patron category's name as the library set it (一般, 児童・生徒 ...), not its code."""
    code = str(getattr(code, "value", code) or "")
    rules = policy.category_policy(db_session(), code)
    if rules.code != code:
        return code
    return (rules.name_en or rules.code) if current_locale() == "en" else rules.name


def init_app(app: Flask) -> None:
    """Register the blueprints and template helpers (the search enricher and the jobs are wired in ``elibrary.wiring``)."""
    from elibrary.lending import staff_views

    app.register_blueprint(bp)
    staff_views.init_app(app)
    app.jinja_env.globals["title_lending"] = title_lending
    app.jinja_env.globals["title_outlook"] = title_outlook
    app.jinja_env.globals["patron_notices"] = patron_notices
    app.jinja_env.filters["patron_category"] = category_label
    app.jinja_env.globals["lending_outlooks"] = lending_outlooks
    app.jinja_env.filters["tokyo_time"] = _local
