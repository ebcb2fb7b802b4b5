"""Staff lending pages: demand (holds per copy), a title's availability and licences, policy settings."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from elibrary.catalog.models import Title
from elibrary.db import utcnow
from elibrary.errors import InvalidInput, NotFound
from elibrary.lending import policy, services
from elibrary.lending.availability import free_copies
from elibrary.lending.models import Hold, License, LicenseModel
from elibrary.web.auth import staff_required
from elibrary.web.i18n import t
from elibrary.web.transactions import db_session, runtime

bp = Blueprint("lending_staff", __name__, url_prefix="/staff/lending")


def demand_rows(session, target: float) -> list[dict]:
    """Titles with holds: queue length, lending copies and holds per copy, highest ratio first."""
    now = utcnow()
    counts = dict(session.execute(select(Hold.title_id, func.count()).group_by(Hold.title_id)).all())
    rows = []
    for title in session.scalars(select(Title).where(Title.id.in_(list(counts)))).all() if counts else []:
        lending = [lic for lic in session.scalars(select(License).where(License.title_id == title.id)) if lic.stop_reason(now) is None]
        copies = sum(lic.copies or 0 for lic in lending if not lic.is_open)
        free = free_copies(session, title.id, lending)
        ratio = counts[title.id] / copies if copies else float("inf")
        rows.append(
            {"title": title, "holds": counts[title.id], "copies": copies, "free": sum(v or 0 for v in free.values()), "ratio": ratio, "over": ratio > target}
        )
    return sorted(rows, key=lambda r: (-r["ratio"], -r["holds"], r["title"].id))


@bp.get("/")
@staff_required("admin", "librarian")
def demand():
    """Queue lengths and holds per copy; titles above the purchase target first."""
    session = db_session()
    target = policy.setting(session, "hold_ratio_target")
    rows = demand_rows(session, target)
    return render_template("lending/staff_demand.html", rows=rows, target=target, over=[r for r in rows if r["over"]])


@bp.route("/titles/<int:title_id>", methods=["GET", "POST"])
@staff_required("admin", "librarian")
def title(title_id: int):
    """A title's availability and licences (with why a licence stopped); POST adds a licence."""
    session = db_session()
    record = session.get(Title, title_id)
    if record is None:
        raise NotFound("本が見つかりません。", "No such title.")
    if request.method == "POST" and request.form.get("form") == "text_search":
        services.set_text_search(session, title_id, _optional_int(request.form.get("license_id"), "license_id") or 0,
                                 _text_search_choice(request.form.get("text_search")))
        flash(t("本文検索の設定を変更しました。", "The text search setting was changed."), "success")
        return redirect(url_for("lending_staff.title", title_id=title_id), code=303)
    if request.method == "POST":
        form = request.form
        until = _optional_date(form.get("until"))
        services.add_license(
            session,
            title_id,
            form.get("model", ""),
            copies=_optional_int(form.get("copies"), "copies"),
            loans=_optional_int(form.get("loans"), "loans"),
            until=until,
            loan_days=_optional_int(form.get("loan_days"), "loan_days"),
            drm_free_download=form.get("drm_free") == "1",
            text_search=_text_search_choice(form.get("text_search")),
            note=form.get("note", ""),
            cipher=runtime().cipher,
        )
        flash(t("ライセンスを追加しました。", "Licence added."), "success")
        return redirect(url_for("lending_staff.title", title_id=title_id), code=303)
    info = services.availability(session, title_id)
    return render_template("lending/staff_title.html", title=record, info=info, models=[m.value for m in LicenseModel])


@bp.route("/policy", methods=["GET", "POST"])
@staff_required("admin")
def policy_page():
    """Patron categories (limits, periods, collections) and library-wide settings."""
    session = db_session()
    if request.method == "POST":
        form = request.form
        if form.get("form") == "settings":
            for key in policy.SETTINGS:
                policy.save_setting(session, key, _optional_int(form.get(key), key))
        else:
            policy.save_category(
                session,
                form.get("code", ""),
                name=form.get("name") or None,
                name_en=form.get("name_en"),
                open_titles_only=form.get("open_titles_only") == "1",
                collections=[c.strip() for c in form.get("collections", "").split(",") if c.strip()],
                **{name: _optional_int(form.get(name), name) for name in policy.INTEGER_FIELDS},
            )
        flash(t("保存しました。", "Saved."), "success")
        return redirect(url_for("lending_staff.policy_page"), code=303)
    settings = {key: policy.setting(session, key) for key in policy.SETTINGS}
    return render_template("lending/staff_policy.html", categories=policy.all_categories(session), settings=settings, labels=policy.SETTINGS)


def _text_search_choice(raw: str | None) -> bool | None:
    """The 本文検索 select: "1" allowed, "0" not allowed, anything else the default (on for open licences)."""
    return {"1": True, "0": False}.get(raw or "")


def _optional_int(raw: str | None, field: str) -> int | None:
    if raw is None or not raw.strip():
        return None
    try:
        return int(raw.strip())
    except ValueError:
        raise InvalidInput(f"{field} は整数で入力してください。", f"{field} must be a whole number.", field=field) from None


def _optional_date(raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput("日付は YYYY-MM-DD で入力してください。", "Enter dates as YYYY-MM-DD.", field="until") from None


def init_app(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
