"""The statistics pages: librarians choose a period, a measure and a breakdown; teachers see their own school.

Views parse the request, call one service, render; ``reports.check_request`` decides who may see what.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Flask, Response, render_template, request
from markupsafe import Markup

from elibrary.errors import InvalidInput
from elibrary.stats import exports
from elibrary.stats import settings as stats_settings
from elibrary.stats.charts import report_chart
from elibrary.stats.measures import BREAKDOWNS, MEASURES, SOURCE_BREAKDOWNS, TEACHER_BREAKDOWNS, TEACHER_MEASURES
from elibrary.stats.periods import custom_period, fiscal_period, fiscal_year_of, month_period
from elibrary.stats.reports import ReportRequest, build_report, check_request
from elibrary.usage.counters import tokyo_day
from elibrary.web.auth import current_staff, staff_required
from elibrary.web.i18n import t
from elibrary.web.transactions import db_session, runtime

bp = Blueprint("stats", __name__, url_prefix="/staff/stats", template_folder="templates")
ROLES = ("admin", "librarian", "teacher")
FORMATS = {"csv": ("text/csv; charset=utf-8", "csv"), "csv-cp932": ("text/csv; charset=shift_jis", "csv"),
           "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")}


def _today() -> date:
    from elibrary.db import utcnow

    return tokyo_day(utcnow())


def _int(name: str, default: int) -> int:
    value = (request.args.get(name) or "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise InvalidInput(f"「{value[:20]}」は数字ではありません。", f"{value[:20]!r} is not a number.", field=name)
    return int(value)


def _date(name: str) -> date:
    value = (request.args.get(name) or "").strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("日付は 2026-04-01 のように入力してください。", "Dates are YYYY-MM-DD.", field=name) from None


def _period():
    today = _today()
    kind = request.args.get("period", "year")
    if kind == "this-month":
        return month_period(today.year, today.month)
    if kind == "month":
        text = request.args.get("month") or f"{today.year:04d}-{today.month:02d}"
        year, _, month = text.partition("-")
        if not (year.isdigit() and month.isdigit()):
            raise InvalidInput("月は 2026-05 のように選んでください。", "Choose a month like 2026-05.", field="month")
        return month_period(int(year), int(month))
    if kind == "custom":
        return custom_period(_date("start"), _date("end"))
    return fiscal_period(_int("year", fiscal_year_of(today)))


def _request() -> ReportRequest:
    staff = current_staff._get_current_object()
    teacher = staff.role.value == "teacher"
    measure = request.args.get("measure", "loans")
    breakdown = request.args.get("by", "grade" if teacher else "month")
    return check_request(ReportRequest(measure, breakdown, _period()), staff)


@bp.get("/")
@staff_required(*ROLES)
def page():
    """The report chosen in the form: a table with totals and a year earlier, and a chart beside it."""
    session = db_session()
    report = build_report(session, _request())
    teacher = current_staff.role.value == "teacher"
    measures = {k: m for k, m in MEASURES.items() if not teacher or k in TEACHER_MEASURES}
    breakdowns = {k: b for k, b in BREAKDOWNS.items() if (not teacher or k in TEACHER_BREAKDOWNS)
                  and k in SOURCE_BREAKDOWNS[MEASURES[report.request.measure].source]}
    chart = Markup(report_chart(report, runtime().settings)) if report.rows and not report.empty else None
    today = _today()
    return render_template("stats/page.html", report=report, chart=chart, measures=measures, breakdowns=breakdowns, args=request.args,
                           teacher=teacher, years=list(range(fiscal_year_of(today), fiscal_year_of(today) - 6, -1)), today=today,
                           query=request.query_string.decode("ascii", "replace"))


@bp.get("/export/<fmt>")
@staff_required(*ROLES)
def export(fmt: str):
    """The report on the page as CSV (UTF-8 with BOM, or cp932) or Excel."""
    if fmt not in FORMATS:
        raise InvalidInput("この形式では出力できません。", "Unknown format.", field="format")
    session = db_session()
    report = build_report(session, _request())
    sheets = [exports.report_sheet(report)]
    body = exports.to_xlsx(sheets) if fmt == "xlsx" else exports.to_csv(sheets, "cp932" if fmt == "csv-cp932" else "utf-8")
    mimetype, extension = FORMATS[fmt]
    name = f"stats-{report.request.measure}-{report.request.breakdown}-{report.request.period.start.isoformat()}.{extension}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@bp.get("/report.pdf")
@staff_required(*ROLES)
def report_pdf():
    """The monthly or annual report (月報・年報) as a PDF: cover, summary, charts, breakdowns."""
    request_ = _request()
    if request_.period.kind == "custom":
        raise InvalidInput("PDFの報告書は月または年度を選んで作成してください。", "Choose a month or a 年度 for the PDF report.", field="period")
    pdf = exports.report_pdf(db_session(), request_.period, runtime().settings, school=request_.school)
    name = f"stats-report-{request_.period.start.isoformat()}.pdf"
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@bp.route("/settings", methods=["GET", "POST"])
@staff_required("admin", "librarian")
def settings_page():
    """Age bands, the small-cell threshold and the monthly report's addresses."""
    session = db_session()
    error = None
    form = request.form
    if request.method == "POST":
        try:
            stats_settings.save(session, form.get("bands", ""), form.get("small_cell", ""), form.get("recipients", ""))
        except InvalidInput as refused:
            error = refused
        else:
            from flask import flash, redirect, url_for

            flash(t("統計の設定を保存しました。", "The statistics settings were saved."), "info")
            return redirect(url_for("stats.settings_page"), code=303)
    current = stats_settings.load(session)
    values = {"bands": form.get("bands") if error else stats_settings.bands_text(current.bands),
              "small_cell": form.get("small_cell") if error else current.small_cell,
              "recipients": form.get("recipients") if error else "\n".join(current.recipients)}
    return render_template("stats/settings.html", values=values, error=error), 400 if error else 200


@bp.app_context_processor
def stats_helpers():
    from elibrary.stats.periods import fiscal_label

    return {"fiscal_label": fiscal_label}


def init_app(app: Flask) -> None:
    """Register the statistics pages."""
    app.register_blueprint(bp)
