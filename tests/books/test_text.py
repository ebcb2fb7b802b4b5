"""Reading a book's text for 本文検索: EPUB spine order, ruby, scripts, vertical books, PDF text layers, broken files."""
from __future__ import annotations

import io

import pytest

from elibrary.books.text import BookTextError, epub_text, extract_text, pdf_text, xhtml_text
from tests.books.factories import text_epub, text_pdf


def test_epub_text_is_the_spine_in_reading_order_with_ruby_bases_only():
    data = text_epub(
        "<h1>第一章</h1><p><ruby>銀河<rp>（</rp><rt>ぎんが</rt><rp>）</rp></ruby>鉄道の夜のはなし。</p>",
        "<p>二つ目の章。<script>var secret = 'スクリプトの中';</script><style>p { color: red }</style>おわり。</p>",
    )
    text = epub_text(io.BytesIO(data))
    assert "銀河鉄道の夜のはなし。" in text  # the base text reads on; the reading is dropped
    assert "ぎんが" not in text and "（" not in text
    assert "スクリプトの中" not in text and "color" not in text
    assert text.index("第一章") < text.index("二つ目の章") < text.index("おわり")
    assert "本文検索のテスト" not in text  # the <title> of a document is not its text


def test_a_vertical_book_gives_the_same_text():
    body = "<p>縦書きの<ruby>物語<rt>ものがたり</rt></ruby>です。２０２６年。</p>"
    assert epub_text(io.BytesIO(text_epub(body, vertical=True))) == epub_text(io.BytesIO(text_epub(body)))


def test_pdf_text_layer_is_read_page_by_page():
    text = pdf_text(text_pdf("一ページ目の文章です。", "二ページ目には針が隠れている。"))
    assert "一ページ目の文章です。" in text and "二ページ目には針が隠れている。" in text
    assert text.index("一ページ目") < text.index("二ページ目")


@pytest.mark.parametrize("data, media_type", [
    (b"not a zip at all", "application/epub+zip"),
    (b"%PDF-1.4 broken", "application/pdf"),
    (b"", "application/pdf"),
    (b"whatever", "image/png"),
])
def test_a_broken_file_gives_a_reason_without_its_content(data, media_type):
    with pytest.raises(BookTextError) as caught:
        extract_text(io.BytesIO(data), media_type)
    assert caught.value.reason and len(caught.value.reason) < 120


def test_entities_are_not_expanded():
    hostile = (b'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
               b'<html xmlns="http://www.w3.org/1999/xhtml"><body><p>a&x;b</p></body></html>')
    assert "root:" not in xhtml_text(hostile)
