"""Staff pages of acquisitions (予算・発注): funds, orders with their CSV and PDF, receiving, licence
renewal advice and the collection balance charts."""
from __future__ import annotations

import csv
import io

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from markupsafe import Markup

from elibrary.csvcells import safe_cell
from elibrary.db import utcnow
from elibrary.errors import InvalidInput
from elibrary.lending.policy import TOKYO
from elibrary.reports import charts as chart_render
from elibrary.selection import advice, balance, funds, orders, receiving
from elibrary.selection.documents import order_csv, order_pdf
from elibrary.selection.money import fiscal_year_of, tax_rounding
from elibrary.selection.views import ROLES, staff
from elibrary.web.auth import staff_required
from elibrary.web.i18n import t
from elibrary.web.transactions import db_session, runtime

bp = Blueprint("acquisitions", __name__, url_prefix="/staff/selection", template_folder="templates")


def _this_year() -> int:
    return fiscal_year_of(utcnow().astimezone(TOKYO).date())


def _whole(value: str | None, name: str) -> int:
    try:
        return int((value or "").replace(",", "").replace("¥", "").strip())
    except ValueError:
        raise InvalidInput("金額・年度は数字で入力してください。", "Amounts and years are numbers.", field=name) from None


@bp.route("/funds", methods=["GET", "POST"])
@staff_required(*ROLES)
def fund_page():
    """Funds per 年度 with allocation, committed, spent and remaining; POST adds a fund or an allocation."""
    session, form = db_session(), request.form
    if request.method == "POST":
        if form.get("fund_id"):
            funds.allocate(session, staff(), _whole(form.get("fund_id"), "fund_id"), _whole(form.get("amount"), "amount"),
                           note=form.get("note", "")[:200])
        else:
            funds.create_fund(session, staff(), _whole(form.get("fiscal_year"), "fiscal_year"), form.get("name", ""),
                              _whole(form.get("amount"), "amount"))
        flash(t("予算を更新しました。", "The fund was updated."), "info")
        return redirect(url_for("acquisitions.fund_page"), code=303)
    funds.require_selector(staff())
    return render_template("selection/funds.html", balances=list(funds.balances(session).values()), this_year=_this_year())


@bp.post("/lists/<int:list_id>/order")
@staff_required(*ROLES)
def make_order(list_id: int):
    """Order a list's adopted lines for one distributor and fund."""
    form = request.form
    order = orders.make_order(db_session(), staff(), list_id, _whole(form.get("fund_id"), "fund_id"), form.get("distributor", ""),
                              rounding=tax_rounding(runtime().settings), confirm_overspend=bool(form.get("confirm_overspend")))
    flash(t(f"発注 {order.number} を作成しました。", f"Order {order.number} was made."), "info")
    return redirect(url_for("acquisitions.order_page", order_id=order.id), code=303)


@bp.get("/orders")
@staff_required(*ROLES)
def order_index():
    """Every order."""
    return render_template("selection/orders.html", orders=orders.all_orders(db_session(), staff()), totals=orders.order_totals)


@bp.get("/orders/<int:order_id>")
@staff_required(*ROLES)
def order_page(order_id: int):
    """An order: lines, tax per rate, documents, receive and cancel."""
    session = db_session()
    order = orders.get_order(session, staff(), order_id)
    return render_template("selection/order.html", order=order, summary=orders.order_totals(order),
                           waiting=receiving.waiting_for_files(session, order), terms_of=orders.terms_of)


@bp.get("/orders/<int:order_id>.csv")
@staff_required(*ROLES)
def order_csv_file(order_id: int):
    """The order CSV in the distributor's format."""
    order = orders.get_order(db_session(), staff(), order_id)
    data = order_csv(order, runtime().settings)
    return send_file(io.BytesIO(data), mimetype="text/csv", as_attachment=True, download_name=f"order-{order.number}.csv")


@bp.get("/orders/<int:order_id>.pdf")
@staff_required(*ROLES)
def order_pdf_file(order_id: int):
    """The PDF 発注書."""
    order = orders.get_order(db_session(), staff(), order_id)
    return send_file(io.BytesIO(order_pdf(order, runtime().settings)), mimetype="application/pdf",
                     download_name=f"order-{order.number}.pdf")


@bp.post("/orders/<int:order_id>/receive")
@staff_required(*ROLES)
def receive(order_id: int):
    """Receive the order (by hand): titles, licences, money moved."""
    order = receiving.receive_order(db_session(), staff(), order_id, cipher=runtime().cipher)
    flash(t(f"発注 {order.number} を納品済みにしました。", f"Order {order.number} was received."), "info")
    return redirect(url_for("acquisitions.order_page", order_id=order_id), code=303)


@bp.post("/order-lines/<int:line_id>/cancel")
@staff_required(*ROLES)
def cancel_line(line_id: int):
    """Cancel one line; its money goes back to the fund."""
    line = orders.cancel_line(db_session(), staff(), line_id)
    flash(t("発注行を取り消しました。", "The line was cancelled."), "info")
    return redirect(url_for("acquisitions.order_page", order_id=line.order_id), code=303)


@bp.post("/files-arrived")
@staff_required(*ROLES)
def files_arrived():
    """Make the licences of received titles whose book files have arrived."""
    count = receiving.license_arrived(db_session(), staff(), cipher=runtime().cipher)
    flash(t(f"{count}行のライセンスを有効にしました。", f"Licences made for {count} lines."), "info")
    return redirect(request.form.get("back") or url_for("acquisitions.order_index"), code=303)


def _advice_rows():
    days = _whole(request.args.get("days") or str(advice.DEFAULT_DAYS), "days")
    return days, advice.licence_advice(db_session(), staff(), days=max(1, min(days, 730)))


@bp.get("/renewals")
@staff_required(*ROLES)
def renewals():
    """Licences that need a decision, with cost per loan and advice."""
    from elibrary.selection import lists

    days, rows = _advice_rows()
    return render_template("selection/renewals.html", rows=rows, days=days, lists=lists.all_lists(db_session(), staff()))


@bp.get("/renewals.csv")
@staff_required(*ROLES)
def renewals_csv():
    """The same as a CSV (UTF-8 with BOM for Excel; cells neutralised)."""
    _, rows = _advice_rows()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["書名", "ISBN", "ライセンス", "理由", "貸出回数", "費用（税込）", "1回あたり", "予約数", "助言"])
    for row in rows:
        writer.writerow([safe_cell(v) for v in (row.title.title, row.title.isbn or "", row.license.model.value, " / ".join(row.reasons),
                                                 row.loans, "" if row.cost is None else row.cost,
                                                 "" if row.cost_per_loan is None else row.cost_per_loan, row.holds, row.advice_ja)])
    return send_file(io.BytesIO(out.getvalue().encode("utf-8-sig")), mimetype="text/csv", as_attachment=True, download_name="renewals.csv")


@bp.get("/balance")
@staff_required(*ROLES)
def balance_page():
    """Collection balance charts with their numbers beside them."""
    year = _whole(request.args.get("year") or str(_this_year()), "year")
    settings = runtime().settings
    made = balance.balance_charts(db_session(), staff(), year, settings)
    # Our own SVG: every label in it was escaped by the renderer (tests/reports checks a "<" title parses).
    rendered = [(chart, Markup(chart_render.svg(chart, settings, element_id=f"chart-{index}"))) for index, chart in enumerate(made)]
    return render_template("selection/balance.html", charts=rendered, year=year)
