"""Staff pages of selection (選書): the pool search and selection lists (the pool import page is
``catalog_import.pool_views``, beside the parsers).

Views parse the request, call one service, render; the services check that the user is a librarian or
an admin, and ``staff_required`` keeps everyone else out before that.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for

from elibrary.errors import InvalidInput
from elibrary.selection import funds, lists, search
from elibrary.selection.money import fiscal_year_label, tax_rounding, yen
from elibrary.selection.offers import MODEL_LABELS
from elibrary.selection.pool import OWNED_REASONS
from elibrary.web.auth import current_staff, staff_required
from elibrary.web.i18n import t
from elibrary.web.transactions import db_session, runtime

bp = Blueprint("selection", __name__, url_prefix="/staff/selection", template_folder="templates")
ROLES = ("admin", "librarian")
AUDIENCES = {"children": ("児童", "Children"), "ya": ("YA", "YA"), "general": ("一般", "General")}
NDC_CLASSES = {"0": "総記", "1": "哲学", "2": "歴史", "3": "社会科学", "4": "自然科学", "5": "技術", "6": "産業", "7": "芸術",
               "8": "言語", "9": "文学"}


def staff():
    """The signed-in staff member (services check the role again)."""
    return current_staff._get_current_object()


@bp.app_context_processor
def selection_helpers():
    return {"yen": yen, "model_labels": MODEL_LABELS, "owned_reasons": OWNED_REASONS, "audiences": AUDIENCES,
            "ndc_classes": NDC_CLASSES, "decision_labels": lists.DECISION_LABELS, "fiscal_year_label": fiscal_year_label}


def _int(name: str) -> int | None:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        return int(value.replace(",", ""))
    except ValueError:
        raise InvalidInput(f"「{value[:20]}」は数字ではありません。", f"{value[:20]!r} is not a number.", field=name) from None


def _date(name: str) -> date | None:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("日付は YYYY-MM-DD で入力してください。", "Dates are YYYY-MM-DD.", field=name) from None


def _flag(name: str) -> bool | None:
    value = request.args.get(name)
    return {"yes": True, "no": False}.get(value or "")


@bp.get("/")
@staff_required(*ROLES)
def pool():
    """Search the candidate pool with facets; add offers to a list."""
    session = db_session()
    funds.require_selector(staff())
    query = search.PoolQuery(
        text=request.args.get("q", "")[:200], ndc_class=request.args.get("ndc") or None, audience=request.args.get("audience") or None,
        published_from=_date("from"), published_to=_date("to"), price_min=_int("price_min"), price_max=_int("price_max"),
        model=request.args.get("model") or None, publisher=request.args.get("publisher") or None,
        owned=_flag("owned"), on_list=_flag("on_list"), page=_int("page") or 1)
    result = search.search_pool(session, query)
    return render_template("selection/pool.html", query=query, result=result, lists=lists.all_lists(session, staff()),
                           fund_list=funds.funds(session), args=request.args, per_page=search.PER_PAGE)


@bp.route("/lists", methods=["GET", "POST"])
@staff_required(*ROLES)
def list_index():
    """All lists; POST makes a new one."""
    session = db_session()
    if request.method == "POST":
        created = lists.create_list(session, staff(), request.form.get("name", ""))
        return redirect(url_for("selection.list_page", list_id=created.id), code=303)
    return render_template("selection/lists.html", lists=lists.all_lists(session, staff()))


@bp.get("/lists/<int:list_id>")
@staff_required(*ROLES)
def list_page(list_id: int):
    """A list: lines, warnings, comments, decisions, totals against each fund, the order form."""
    session = db_session()
    page = _int("page") or 1
    view = lists.list_view(session, staff(), list_id, tax_rounding(runtime().settings), page=page)
    all_funds = funds.funds(session)
    distributors = lists.adopted_distributors(session, list_id)
    return render_template("selection/list.html", view=view, fund_list=all_funds, fund_names={f.id: f for f in all_funds},
                           distributors=distributors, page=page, per_page=lists.LINES_PER_PAGE)


@bp.post("/lines")
@staff_required(*ROLES)
def add_line():
    """Put an offer on a list (from the pool page or the renewal advice)."""
    form = request.form
    list_id = int(form["list_id"]) if form.get("list_id", "").isdigit() else 0
    fund_id = int(form["fund_id"]) if form.get("fund_id", "").isdigit() else None
    line, warnings = lists.add_line(db_session(), staff(), list_id, int(form.get("offer_id", "0") or 0),
                                    quantity=form.get("quantity", "1"), fund_id=fund_id, note=form.get("note", ""))
    flash(t("リストに追加しました。", "Added to the list."), "info")
    for warning in warnings:
        flash(t(warning.ja, warning.en), "warning")
    back = request.form.get("back", "")
    return redirect(back if back.startswith("/staff/selection") else url_for("selection.list_page", list_id=list_id), code=303)


@bp.post("/lines/<int:line_id>")
@staff_required(*ROLES)
def line_action(line_id: int):
    """Change a line: quantity/fund/note, a decision, a comment, or removal."""
    session, form = db_session(), request.form
    action = form.get("action", "")
    if action == "decide":
        line = lists.decide(session, staff(), line_id, form.get("decision", ""))
    elif action == "comment":
        line = lists.comment(session, staff(), line_id, form.get("text", ""))
        line = session.get(lists.SelectionLine, line.line_id)
    elif action == "update":
        fund_id = int(form["fund_id"]) if form.get("fund_id", "").isdigit() else None
        line = lists.update_line(session, staff(), line_id, quantity=form.get("quantity"), fund_id=fund_id, note=form.get("note"))
    elif action == "remove":
        line = lists.get_line(session, staff(), line_id)
        list_id = line.list_id
        lists.remove_line(session, staff(), line_id)
        return redirect(url_for("selection.list_page", list_id=list_id), code=303)
    else:
        raise InvalidInput("操作が正しくありません。", "Unknown action.")
    return redirect(url_for("selection.list_page", list_id=line.list_id) + f"#line-{line_id}", code=303)


def init_app(app: Flask) -> None:
    """Register the selection pages (lists and pool here, money and orders in ``order_views``)."""
    from elibrary.selection import order_views, request_views

    app.register_blueprint(bp)
    app.register_blueprint(order_views.bp)
    app.register_blueprint(request_views.bp)
