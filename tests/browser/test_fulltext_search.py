"""本文検索 in Chromium: tick 「本文も検索」, search, see the snippet with the hit marked; axe finds nothing."""
from __future__ import annotations

import pytest

from tests.books.factories import text_epub
from tests.browser.conftest import TABLET, assert_accessible, new_context, screenshot
from tests.readers.factories import make_book


@pytest.fixture
def live_server_config(live_server_config):
    live_server_config["ELIBRARY_BOOKTEXT"] = "tantivy"
    return live_server_config


@pytest.fixture
def fox_book(live_server):
    rt = live_server.rt
    body = ("<p>" + "秋の山は赤や黄色に染まっていました。" * 40 + "兵十は<ruby>鰻<rt>うなぎ</rt></ruby>をとろうとして、川の中へ入りました。"
            + "村のまつりの日がやってきました。" * 40 + "</p>")
    with rt.db.scope() as session:
        return make_book(session, rt.storage, text_epub(body), license="open", title="ごんぎつねの森").id


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_searching_the_text_of_books_shows_a_marked_snippet(browser, live_server, fox_book, lang):
    context = new_context(browser, live_server, locale="ja-JP" if lang == "ja" else "en-US", **TABLET)
    page = context.new_page()
    page.goto(live_server(f"/search?lang={lang}"))
    page.fill("#site-q", "うなぎ 兵十")
    page.get_by_label("本文も検索" if lang == "ja" else "Also search the text of books").check()
    page.locator(".site-search button[type=submit]").click()
    page.wait_for_url("**fulltext=1**")
    section = page.locator(".text-matches")
    assert "ごんぎつねの森" not in section.inner_text()  # うなぎ is only the ruby reading: the text says 鰻
    page.fill("#site-q", "兵十は鰻")
    page.locator(".site-search button[type=submit]").click()
    page.wait_for_url("**fulltext=1**")
    assert "ごんぎつねの森" in section.inner_text()
    assert section.locator("mark").first.inner_text() == "兵十は鰻"
    snippet = section.locator(".snippet").first.inner_text()
    assert "川の中へ" in snippet and len(snippet) <= 100
    assert page.get_by_label("本文も検索" if lang == "ja" else "Also search the text of books").is_checked()
    screenshot(page, f"fulltext-search-{lang}")
    assert_accessible(page)
    context.close()
