"""Japanese PDFs and charts shared by the wings: order sheets, sign-in cards, statistics reports.

``pdf`` draws Japanese text with an embedded TrueType font (reportlab cannot load the Noto CJK
OpenType fonts; IPAex fonts work); ``charts`` draws a chart once with ``reportlab.graphics`` and
renders it to SVG for pages and into PDFs. Nothing here imports Flask.
"""
