"""Japanese PDF documents with reportlab's platypus: paragraphs, tables and charts in an embedded font.

Every text given to ``paragraph`` or ``table`` is escaped: platypus reads paragraph text as markup, so a
title such as ``<b>`` or ``&`` from a distributor's file must never be taken as a tag.
"""
from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from elibrary.reports.fonts import FontSet, japanese_fonts


@dataclass
class PdfDocument:
    """A PDF being assembled: add flowables with the helpers, then ``render()`` the bytes."""

    fonts: FontSet
    title: str
    author: str = ""
    landscape: bool = False

    def __post_init__(self) -> None:
        from reportlab.lib.styles import ParagraphStyle

        self.flowables: list = []
        self.styles = {
            "body": ParagraphStyle("body", fontName=self.fonts.body, fontSize=10, leading=15, wordWrap="CJK"),
            "small": ParagraphStyle("small", fontName=self.fonts.body, fontSize=8, leading=11, wordWrap="CJK"),
            "heading": ParagraphStyle("heading", fontName=self.fonts.body, fontSize=18, leading=26, spaceAfter=8, wordWrap="CJK"),
            "subheading": ParagraphStyle("subheading", fontName=self.fonts.body, fontSize=12, leading=18, spaceBefore=6,
                                         spaceAfter=4, wordWrap="CJK"),
            "right": ParagraphStyle("right", fontName=self.fonts.body, fontSize=10, leading=15, alignment=2),
        }

    def paragraph(self, text: str, style: str = "body") -> "PdfDocument":
        """A paragraph of plain text (escaped; line breaks kept)."""
        from reportlab.platypus import Paragraph

        self.flowables.append(Paragraph(escape(text).replace("\n", "<br/>"), self.styles[style]))
        return self

    def heading(self, text: str) -> "PdfDocument":
        """The document's heading."""
        return self.paragraph(text, "heading")

    def space(self, points: float = 8) -> "PdfDocument":
        """Vertical space."""
        from reportlab.platypus import Spacer

        self.flowables.append(Spacer(1, points))
        return self

    def table(self, header: Sequence[str], rows: Iterable[Sequence[Any]], *, widths: Sequence[float] | None = None,
              numeric: Sequence[int] = (), footer: Sequence[Sequence[Any]] = ()) -> "PdfDocument":
        """A ruled table; columns in ``numeric`` are right-aligned, ``footer`` rows are bold-ruled totals."""
        from reportlab.lib import colors
        from reportlab.platypus import Paragraph, Table, TableStyle

        def cell(value: Any, column: int) -> Any:
            style = self.styles["right"] if column in numeric else self.styles["body"]
            return Paragraph(escape("" if value is None else str(value)), style)

        body = [[cell(v, i) for i, v in enumerate(header)]]
        body += [[cell(v, i) for i, v in enumerate(row)] for row in rows]
        first_footer = len(body)
        body += [[cell(v, i) for i, v in enumerate(row)] for row in footer]
        table = Table(body, colWidths=widths, repeatRows=1)
        commands = [
            ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ]
        if footer:
            commands.append(("LINEABOVE", (0, first_footer), (-1, first_footer), 1.5, colors.black))
        table.setStyle(TableStyle(commands))
        self.flowables.append(table)
        return self

    def add(self, flowable) -> "PdfDocument":
        """Any platypus flowable (a chart's ``Drawing`` from ``charts.drawing``)."""
        self.flowables.append(flowable)
        return self

    def render(self) -> bytes:
        """The PDF bytes (A4), the font subset embedded."""
        from reportlab.lib.pagesizes import A4, landscape
        from reportlab.platypus import SimpleDocTemplate

        out = io.BytesIO()
        size = landscape(A4) if self.landscape else A4
        doc = SimpleDocTemplate(out, pagesize=size, title=self.title, author=self.author, lang="ja-JP",
                                leftMargin=40, rightMargin=40, topMargin=40, bottomMargin=40)
        doc.build(list(self.flowables), onFirstPage=self._page_number, onLaterPages=self._page_number)
        return out.getvalue()

    def _page_number(self, canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(self.fonts.body, 8)
        canvas.drawRightString(doc.pagesize[0] - 40, 20, f"{doc.page}")
        canvas.restoreState()


def new_document(title: str, settings: Mapping[str, Any] | None = None, *, author: str = "", landscape: bool = False) -> PdfDocument:
    """A document in the Japanese fonts of ``settings`` (``ELIBRARY_PDF_FONT``) or those found on disk."""
    return PdfDocument(japanese_fonts(settings), title, author, landscape)
