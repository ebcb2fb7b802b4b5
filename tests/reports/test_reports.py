"""The shared Japanese PDF and chart module: text that extracts back, an embedded font, SVG with its title."""
from __future__ import annotations

import io
from xml.etree import ElementTree

import pytest
from pypdf import PdfReader

from elibrary.reports import charts, fonts
from elibrary.reports.pdf import new_document

pytestmark = pytest.mark.skipif(fonts._first(fonts.GOTHIC_CANDIDATES) is None,
                                reason="needs a Japanese TrueType font: apt-get install fonts-ipaexfont")

SVG = "{http://www.w3.org/2000/svg}"


def _chart() -> charts.BarChart:
    return charts.BarChart("NDC別の所蔵 <全館>", ["0 総記", "9 文学", "E 絵本"],
                           [charts.Series("所蔵", [12, 340, 55]), charts.Series("目標", [20, 300, 80])], unit="点")


def test_japanese_text_extracts_back_and_the_font_is_embedded():
    doc = new_document("発注書 令和9年度", author="市立図書館")
    doc.heading("発注書（令和9年度）").paragraph("株式会社ほんのもり 御中 <b>&amp;")
    doc.table(["書名", "数量", "金額"], [["吾輩は猫である", 2, "2,640"], ["=HYPERLINK(\"x\")", 1, "1,100"]], numeric=(1, 2),
              footer=[["合計", "", "3,740"]])
    data = doc.render()
    reader = PdfReader(io.BytesIO(data))
    text = reader.pages[0].extract_text()
    for expected in ("発注書（令和9年度）", "株式会社ほんのもり 御中 <b>&amp;", "吾輩は猫である", "3,740"):
        assert expected in text
    assert reader.metadata.title == "発注書 令和9年度"
    descriptors = []
    for font in reader.pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        for descendant in font.get("/DescendantFonts", [font]):
            descriptor = descendant.get_object().get("/FontDescriptor")
            if descriptor is not None:
                descriptors.append(descriptor.get_object())
    embedded = [d for d in descriptors if "/FontFile2" in d]
    assert embedded, "the TrueType font must be embedded, not merely named"
    assert any(str(d["/FontName"]).endswith("+IPAexGothic") for d in embedded)  # a subset of the TrueType font


def test_a_chart_renders_into_a_pdf_too():
    data = new_document("統計").add(charts.drawing(_chart())).render()
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "NDC別の所蔵 <全館>" in text and "9 文学" in text


def test_the_svg_chart_parses_and_carries_its_title_and_numbers_beside_it():
    chart = _chart()
    first, second = charts.svg(chart, element_id="ndc"), charts.svg(chart, element_id="audience")
    root = ElementTree.fromstring(first)
    assert root.get("role") == "img" and root.get("aria-labelledby") == "ndc-title"
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == "NDC別の所蔵 <全館>"
    assert len(root.findall(f"{SVG}title")) == 1
    texts = {t.text for t in root.iter(f"{SVG}text")}
    assert {"0 総記", "9 文学", "E 絵本", "所蔵", "目標"} <= texts
    ids = {e.get("id") for e in root.iter() if e.get("id")}
    other = {e.get("id") for e in ElementTree.fromstring(second).iter() if e.get("id")}
    assert not ids & other, "two charts on one page must not share element ids"
    assert chart.header() == ["区分", "所蔵（点）", "目標（点）"]
    assert chart.rows()[1] == ["9 文学", "340", "300"]


def test_an_opentype_or_missing_font_setting_is_refused_with_a_clear_message(tmp_path):
    otf = tmp_path / "NotoSansCJK-Regular.otf"
    otf.write_bytes(b"OTTO")
    with pytest.raises(fonts.FontMissing, match="TrueType"):
        fonts.japanese_fonts({"ELIBRARY_PDF_FONT": str(otf)})
    with pytest.raises(fonts.FontMissing, match="no such file"):
        fonts.japanese_fonts({"ELIBRARY_PDF_FONT": str(tmp_path / "none.ttf")})


def test_no_font_anywhere_says_what_to_install(monkeypatch):
    monkeypatch.setattr(fonts, "GOTHIC_CANDIDATES", ("/nonexistent/ipaexg.ttf",))
    with pytest.raises(fonts.FontMissing, match="fonts-ipaexfont"):
        fonts.japanese_fonts({})
