"""Legacy -epub-* CSS mapped to standard CSS, in stylesheets and in markup (never in text)."""
from __future__ import annotations

import pytest

from readers.content import content_type_for, rewrite_resource, unprefix_css, unprefix_markup
from tests.conftest import EXTERNAL


@pytest.mark.parametrize(("legacy", "standard"), [
    ("-epub-writing-mode: vertical-rl", "writing-mode: vertical-rl"),
    ("-epub-writing-mode:vertical-lr", "writing-mode:vertical-lr"),
    ("-epub-text-combine: horizontal", "text-combine-upright: all"),
    ("-epub-text-combine-horizontal: all", "text-combine-upright: all"),
    ("-epub-text-orientation: sideways-right", "text-orientation: sideways"),
    ("-epub-text-orientation: rotate-right", "text-orientation: sideways"),
    ("-epub-text-orientation: vertical-right", "text-orientation: mixed"),
    ("-epub-text-transform: -epub-fullwidth", "text-transform: full-width"),
    ("-epub-word-break: keep-all", "word-break: keep-all"),
    ("-epub-line-break: strict", "line-break: strict"),
    ("-epub-hyphens: auto", "hyphens: auto"),
    ("-epub-text-align-last: justify", "text-align-last: justify"),
    ("-epub-text-underline-position: alphabetic", "text-underline-position: auto"),
])
def test_each_prefixed_property_gets_its_standard_name_and_value(legacy, standard):
    css = unprefix_css(f"p {{ {legacy}; }}")
    assert standard in css and "-epub-" not in css


def test_emphasis_is_also_given_to_webkit():
    css = unprefix_css("em { -epub-text-emphasis-style: filled sesame; }")
    assert "-webkit-text-emphasis-style: filled sesame;text-emphasis-style: filled sesame" in css


def test_markup_is_rewritten_only_in_style_elements_and_attributes():
    markup = ('<html><head><style>body { -epub-writing-mode: vertical-rl; }</style></head>'
              '<body><p style="-epub-text-combine: horizontal">12</p>'
              '<p>Use -epub-writing-mode: vertical-rl in old books.</p></body></html>')
    result = unprefix_markup(markup)
    assert "body { writing-mode: vertical-rl; }" in result
    assert 'style="text-combine-upright: all' in result
    assert "<p>Use -epub-writing-mode: vertical-rl in old books.</p>" in result


def test_every_w3c_prefixed_css_test_comes_out_unprefixed():
    tests = sorted((EXTERNAL / "epub-tests-w3c" / "tests").glob("css-epub-*/EPUB/*.xhtml"))
    assert tests
    for path in tests:
        served = rewrite_resource(path.read_bytes(), "application/xhtml+xml").decode()
        for block in served.split("<style")[1:]:
            assert "-epub-" not in block.split("</style>")[0], path


def test_content_types_come_from_the_manifest_else_the_extension():
    assert content_type_for("OPS/a.xhtml", "application/xhtml+xml") == "application/xhtml+xml"
    assert content_type_for("OPS/a.xhtml", "") == "application/xhtml+xml"
    assert content_type_for("OPS/fonts/a.otf") == "font/otf"
    assert content_type_for("OPS/a.bin", "text/html; charset=x") == "application/octet-stream"


@pytest.mark.parametrize(("path", "manifest_type"), [
    ("OPS/evil.js", "text/javascript"), ("OPS/evil.js", ""), ("OPS/evil.mjs", ""),
    ("OPS/evil.xhtml", "application/javascript"), ("OPS/a", "application/x-javascript"), ("OPS/a", "text/ecmascript"),
    ("OPS/a", "text/jscript"),
])
def test_a_books_scripts_are_served_as_plain_text(path, manifest_type):
    assert content_type_for(path, manifest_type) == "text/plain"
