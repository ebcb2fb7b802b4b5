"""Bar charts drawn once with ``reportlab.graphics``: SVG for pages, a ``Drawing`` for PDFs, rows for tables.

A chart on a page is an image to a screen reader, so every page shows ``chart.rows()`` beside it as a
table, and the SVG carries the chart's title (``<title>``, ``role="img"``). Labels are escaped by the
SVG renderer; the fonts are the PDF's Japanese fonts (a CSS fallback list is written into the SVG).
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from elibrary.reports.fonts import japanese_fonts

PALETTE = ("#1f5f99", "#d9822b", "#3c8d5a", "#8e5ba8", "#b23a48")  # distinguishable in grey print too
CSS_FONTS = "'IPAexGothic','Noto Sans CJK JP','Hiragino Sans',sans-serif"


@dataclass(frozen=True)
class Series:
    """One coloured set of bars: a name ("所蔵", "目標") and a value per category."""

    name: str
    values: Sequence[float]


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars per category (NDC class, audience, licence model) for one or more series."""

    title: str
    categories: Sequence[str]
    series: Sequence[Series]
    unit: str = ""
    description: str = ""
    category_label: str = "区分"  # the header of the categories' column in the table beside the chart
    width: int = 480
    bar_height: int = 14
    extra: Mapping[str, Any] = field(default_factory=dict)

    def rows(self) -> list[list[str]]:
        """The numbers as table rows (category, then each series' value) for screen readers and print."""
        return [[category, *(_number(s.values[i]) for s in self.series)] for i, category in enumerate(self.categories)]

    def header(self) -> list[str]:
        """The table's header row."""
        unit = f"（{self.unit}）" if self.unit else ""
        return [self.category_label, *(f"{s.name}{unit}" for s in self.series)]


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


def drawing(chart: BarChart, settings: Mapping[str, Any] | None = None):
    """The chart as a reportlab ``Drawing`` (a flowable: add it to a ``PdfDocument``)."""
    from reportlab.graphics.charts.barcharts import HorizontalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    fonts = japanese_fonts(settings)
    count = max(len(chart.categories), 1)
    plot_height = count * (chart.bar_height * max(len(chart.series), 1) + 8)
    legend_height = 18 * len(chart.series)
    height = plot_height + 60 + legend_height
    d = Drawing(chart.width, height)
    d.add(String(10, height - 18, chart.title, fontName=fonts.body, fontSize=12))
    bars = HorizontalBarChart()
    bars.x, bars.y = 120, 30 + legend_height
    bars.width, bars.height = chart.width - 150, plot_height
    bars.data = [list(reversed([float(v) for v in s.values])) or [0] for s in chart.series] or [[0]]
    bars.categoryAxis.categoryNames = list(reversed([str(c) for c in chart.categories])) or [""]
    bars.categoryAxis.labels.fontName = fonts.body
    bars.categoryAxis.labels.fontSize = 8
    bars.categoryAxis.labels.boxAnchor = "e"
    bars.valueAxis.labels.fontName = fonts.body
    bars.valueAxis.labels.fontSize = 8
    bars.valueAxis.valueMin = 0
    bars.valueAxis.forceZero = 1
    bars.barSpacing = 1
    for index in range(len(chart.series)):
        bars.bars[index].fillColor = colors.HexColor(PALETTE[index % len(PALETTE)])
        bars.bars[index].strokeColor = None
    d.add(bars)
    if chart.series:
        legend = Legend()
        legend.x, legend.y = 120, 10 + legend_height
        legend.fontName, legend.fontSize = fonts.body, 8
        legend.alignment = "right"
        legend.colorNamePairs = [(colors.HexColor(PALETTE[i % len(PALETTE)]), s.name) for i, s in enumerate(chart.series)]
        d.add(legend)
    return d


_STYLE_ATTRIBUTE = re.compile(r' style="([^"]*)"')


def _presentation_attributes(match: re.Match) -> str:
    pairs = []
    for declaration in match.group(1).split(";"):
        name, _, value = declaration.partition(":")
        name, value = name.strip(), value.strip()
        if name and value and re.fullmatch(r"[a-z-]+", name):
            pairs.append(f" {name}={quoteattr(value)}")
    return "".join(pairs)


def svg(chart: BarChart, settings: Mapping[str, Any] | None = None, *, element_id: str = "chart") -> str:
    """The chart as an SVG element to put in a page (``<title>`` and ``role="img"`` for assistive technology)."""
    from reportlab.graphics import renderSVG

    fonts = japanese_fonts(settings)
    text = renderSVG.drawToString(drawing(chart, settings))
    text = text[text.index("<svg"):]  # the XML declaration and doctype do not belong inside HTML
    text = re.sub(rf"font-family: ?(?:{fonts.body}|{fonts.serif})\b", f"font-family: {fonts.body},{CSS_FONTS}", text)
    text = text.replace("\t<title>...</title>\n", "").replace("\t<desc>...</desc>\n", "")
    # Several charts share a page: the renderer's fixed ids become the chart's own.
    text = text.replace('id="clip"', f'id="{element_id}-clip"').replace("url(#clip)", f"url(#{element_id}-clip)")
    text = text.replace(' id="group"', "")
    # The site's Content-Security-Policy refuses style attributes: the same declarations as presentation
    # attributes (fill="…", font-size="…") are allowed, so the bars keep their colours.
    text = _STYLE_ATTRIBUTE.sub(_presentation_attributes, text)
    title_id = f"{element_id}-title"
    described = escape(chart.description or chart.title)
    opening_end = text.index(">")
    opening = text[:opening_end]
    if opening.endswith("/"):
        opening = opening[:-1]
    head = (f'{opening} role="img" aria-labelledby={quoteattr(title_id)} id={quoteattr(element_id)}>'
            f'<title id={quoteattr(title_id)}>{escape(chart.title)}</title><desc>{described}</desc>')
    return head + text[opening_end + 1:]
