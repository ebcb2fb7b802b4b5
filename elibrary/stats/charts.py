"""A report's chart: this period and a year earlier per breakdown value (hidden small cells are left out)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from elibrary.reports import charts
from elibrary.stats.reports import Report

MAX_BARS = 40


def bar_chart(report: Report) -> charts.BarChart:
    """The report as a ``BarChart`` (rows shown as "<N" have no bar)."""
    rows = [r for r in report.rows if not r.total.hidden and not r.previous.hidden][:MAX_BARS]
    if report.request.breakdown == "none":
        rows = [report.total]
    return charts.BarChart(
        title=f"{report.measure_label}（{report.breakdown_label}）",
        categories=[r.label or "合計" for r in rows],
        series=[charts.Series(report.request.period.label, [r.total.value for r in rows]),
                charts.Series("前年同期", [r.previous.value for r in rows])],
        unit="件" if "人" not in report.measure_label else "人",
        description=f"{report.request.period.label}の{report.measure_label}を{report.breakdown_label}に示す棒グラフ。数値は横の表にあります。",
        category_label=report.breakdown_label,
        width=500,
        bar_height=14 if len(rows) <= 10 else max(4, 200 // max(len(rows), 1)),  # a page holds even 24 hours with both years
    )


def report_chart(report: Report, settings: Mapping[str, Any] | None = None, *, for_pdf: bool = False):
    """A reportlab drawing (PDF) or an SVG element (page)."""
    chart = bar_chart(report)
    return charts.drawing(chart, settings) if for_pdf else charts.svg(chart, settings, element_id="stats-chart")
