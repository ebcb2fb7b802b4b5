"""OPAC pages through the Flask client: home, search (facets, sorts, pages, bad input), title pages."""
from __future__ import annotations

import re
from datetime import date

import pytest

from elibrary.catalog.models import Audience, BookFormat
from elibrary.catalog.services import ContributorCredit, SubjectEntry, withdraw_title
from elibrary.catalog.shelves import add_to_shelf, create_shelf
from tests.catalog.factories import make_title


def seed(rt, count=0, **fields):
    """Commit titles (so the search index and other requests see them); returns their ids."""
    with rt.db.scope() as session:
        ids = [make_title(session, **fields).id]
        for i in range(count - 1):
            ids.append(make_title(session, **{**fields, "title": f"{fields.get('title', 'テストの本')} {i + 2}"}).id)
    return ids


def text_of(response) -> str:
    return response.get_data(as_text=True)


def test_home_shows_new_arrivals_shelves_and_the_childrens_corner(client, rt):
    with rt.db.scope() as session:
        novel = make_title(session, title="こころ", title_reading="ココロ")
        picture = make_title(session, title="くまのおさんぽ", audience=Audience.children, format=BookFormat.epub_fixed)
        shelf = create_shelf(session, "summer", "夏に読みたい本", name_en="Summer reading")
        add_to_shelf(session, shelf, novel)
        kids = create_shelf(session, "kids-animals", "どうぶつのほん", audience="children")
        add_to_shelf(session, kids, picture)
        create_shelf(session, "empty", "空の棚")
    page = text_of(client.get("/"))
    assert "新着の本" in page and "こころ" in page
    assert "夏に読みたい本" in page and "/shelves/summer" in page
    assert "こどものへや" in page and "どうぶつのほん" in page and "<ruby>本<rt>ほん</rt></ruby>" in page
    assert "空の棚" not in page  # empty shelves are not shown
    english = text_of(client.get("/?lang=en"))
    assert "New arrivals" in english and "Summer reading" in english and '<html lang="en">' in english


def test_search_lists_matches_with_readings_credits_and_facet_counts(client, rt):
    with rt.db.scope() as session:
        make_title(session, title="吾輩は猫である", title_reading="ワガハイ ワ ネコ デ アル",
                   contributors=(ContributorCredit("夏目漱石", "ナツメ ソウセキ"), ContributorCredit("山田絵子", "ヤマダ エコ", "ill")))
        make_title(session, title="猫の図鑑", ndc="489", audience=Audience.children)
        make_title(session, title="犬の図鑑", ndc="489")
    response = client.get("/search?q=猫")
    page = text_of(response)
    assert response.status_code == 200
    assert "2件" in page and "吾輩は猫である" in page and "猫の図鑑" in page and "犬の図鑑" not in page
    assert "ワガハイ ワ ネコ デ アル" in page and "夏目漱石" in page and "山田絵子（絵）" in page
    assert re.search(r'href="/search\?q=%E7%8C%AB&amp;audience=children">\s*<span>児童</span>\s*<span class="count">1', page)
    assert re.search(r"4 自然科学</span>\s*<span class=\"count\">1<", page)


def test_active_facet_is_marked_and_links_back_to_the_unfiltered_search(client, rt):
    with rt.db.scope() as session:
        make_title(session, title="猫の図鑑", audience=Audience.children)
        make_title(session, title="猫の文学")
    page = text_of(client.get("/search?q=猫&audience=children"))
    assert "1件" in page and "猫の文学" not in page
    active = re.search(r'<a href="([^"]+)" aria-current="true">\s*<span><span aria-hidden="true">✓ </span>児童', page)
    assert active and active.group(1) == "/search?q=%E7%8C%AB"
    assert "対象: 児童" in page  # the removable filter chip


def test_sorts_newest_and_gojuon_order(client, rt):
    with rt.db.scope() as session:
        make_title(session, title="ん", title_reading="ン", published_on=date(2020, 1, 1))
        make_title(session, title="あ", title_reading="ア", published_on=date(2001, 1, 1))
        make_title(session, title="か", title_reading="カ", published_on=date(2010, 1, 1))

    def order(url):
        return re.findall(r'<span class="t" lang="ja">(.)</span>', text_of(client.get(url)))

    assert order("/search?sort=reading") == ["あ", "か", "ん"]
    assert order("/search?sort=newest") == ["ん", "か", "あ"]
    assert order("/search") == ["ん", "か", "あ"]  # newest first when there are no words
    page = text_of(client.get("/search?q=x&sort=reading"))
    assert 'aria-current="true">五十音順' in page


def test_pagination_pages_through_results(client, rt):
    seed(rt, 45, title="ページ送りの本")
    first = text_of(client.get("/search?q=ページ送り"))
    assert "45件" in first and first.count('class="result"') == 20
    assert 'href="/search?q=%E3%83%9A%E3%83%BC%E3%82%B8%E9%80%81%E3%82%8A&amp;page=2" rel="next"' in first
    third = text_of(client.get("/search?q=ページ送り&page=3"))
    assert third.count('class="result"') == 5 and 'aria-current="page"' in third and "rel=\"next\"" not in third
    for bad in ("0", "-3", "abc", "99999999999999999999"):
        assert client.get(f"/search?q=ページ送り&page={bad}").status_code == 200


def test_capped_counts_read_1000_or_more(client, rt, monkeypatch):
    from elibrary.search.base import SearchResult

    ids = seed(rt, 3)
    monkeypatch.setattr(rt.search, "search", lambda query: SearchResult(ids=ids, total=1000, total_is_capped=True))
    page = text_of(client.get("/search?q=本"))
    assert "1,000件以上" in page
    assert "1,000+ results" in text_of(client.get("/search?q=本&lang=en"))


@pytest.mark.parametrize("query", ['"', "title:(猫 OR 犬)", "*?~^", "AND", "[1 TO 5]", "\\", "猫)", "%00", "\u200b", "　"])
def test_syntax_characters_and_odd_input_never_fail(client, rt, query):
    seed(rt, 1, title="猫の本")
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 200


def test_empty_query_browses_everything_with_a_hint(client, rt):
    seed(rt, 2, title="ならんだ本")
    page = text_of(client.get("/search?q="))
    assert "キーワードが入力されていません" in page and "2件" in page


def test_a_10000_character_query_gets_a_clear_message(client, rt):
    response = client.get("/search", query_string={"q": "猫" * 10_000})
    assert response.status_code == 400
    page = text_of(response)
    assert "検索語が長すぎます" in page and "200文字以内" in page
    assert len(page) < 50_000  # the query is not echoed back in full


def test_search_unavailable_is_a_friendly_503(client, rt, monkeypatch):
    from elibrary.search.base import SearchUnavailable

    def broken(query):
        raise SearchUnavailable("index locked")

    monkeypatch.setattr(rt.search, "search", broken)
    response = client.get("/search?q=猫")
    assert response.status_code == 503 and "一時的に利用できません" in text_of(response)


def test_search_text_is_escaped(client, rt):
    page = text_of(client.get("/search", query_string={"q": "<script>alert(1)</script>"}))
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_title_page_shows_the_record_and_escapes_the_description(client, rt):
    with rt.db.scope() as session:
        title = make_title(
            session, title="銀河鉄道の夜", title_reading="ギンガ テツドウ ノ ヨル", subtitle="新版", series_title="賢治の童話",
            series_reading="ケンジ ノ ドウワ", volume="第2巻", publisher="みどり出版", published_on=date(2024, 4, 1), ndc="913.6",
            audience=Audience.children, age_min=8, age_max=12, accessibility=("readAloud", "ruby"),
            contributors=(ContributorCredit("宮沢賢治", "ミヤザワ ケンジ"), ContributorCredit("絵描き", "エカキ", "ill")),
            subjects=(SubjectEntry("鉄道"),), description="一行目<script>alert('x')</script>\n二行目\n\n段落二",
        )
        sibling = make_title(session, title="風の又三郎", series_title="賢治の童話", volume="第1巻")
    page = text_of(client.get(f"/titles/{title.id}"))
    assert "<ruby>銀河鉄道の夜<rp>（</rp><rt>ギンガ テツドウ ノ ヨル</rt>" in page
    assert "新版" in page and "第2巻" in page and "/search?q=%E8%B3%A2%E6%B2%BB%E3%81%AE%E7%AB%A5%E8%A9%B1&amp;sort=reading" in page
    assert "<rt>ミヤザワ ケンジ</rt>" in page and '<span class="role">絵</span>' in page
    assert "2024年4月1日" in page and "913.6（文学）" in page and "8〜12歳" in page and "読み上げ対応" in page and "ふりがな付き" in page
    assert "<script>alert" not in page
    assert "<p>一行目&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;<br>\n二行目</p>\n<p>段落二</p>" in page
    assert "鉄道" in page and "風の又三郎" in page and f"/titles/{sibling.id}" in page  # related titles
    assert "Published" in text_of(client.get(f"/titles/{title.id}?lang=en"))


def test_withdrawn_and_unknown_titles_are_404_for_patrons(client, rt):
    with rt.db.scope() as session:
        title = make_title(session)
        withdraw_title(session, title)
    assert client.get(f"/titles/{title.id}").status_code == 404
    assert client.get("/titles/999999").status_code == 404
    assert client.get(f"/covers/{title.id}/md").status_code == 404


def test_shelf_page_lists_its_titles_in_order_and_hides_private_shelves(client, rt):
    with rt.db.scope() as session:
        first, second = make_title(session, title="一冊目"), make_title(session, title="二冊目")
        shelf = create_shelf(session, "picks", "おすすめ")
        add_to_shelf(session, shelf, second)
        add_to_shelf(session, shelf, first)
        create_shelf(session, "hidden", "準備中", is_public=False)
    page = text_of(client.get("/shelves/picks"))
    assert page.index("二冊目") < page.index("一冊目")
    assert client.get("/shelves/hidden").status_code == 404


def test_language_switch_keeps_the_page_and_query(client):
    page = text_of(client.get("/search?q=%E7%8C%AB&audience=children"))
    assert 'href="/search?q=%E7%8C%AB&amp;audience=children&amp;lang=en" hreflang="en"' in page



def test_a_kana_reading_finds_the_kanji_author(client, rt):
    with rt.db.scope() as session:
        make_title(session, title="吾輩は猫である", contributors=(ContributorCredit("夏目漱石", "ナツメ ソウセキ"),))
    assert "吾輩は猫である" in text_of(client.get("/search?q=なつめ"))


def test_a_search_that_finds_nothing_suggests_what_the_catalog_has(client, rt):
    seed(rt, title="銀河鉄道の夜", title_reading="ギンガ テツドウ ノ ヨル", contributors=(ContributorCredit("宮沢 賢治", "ミヤザワ ケンジ"),))
    page = text_of(client.get("/search?q=宮沢健治&audience=general"))
    assert "見つかりませんでした" in page
    match = re.search(r'<p class="did-you-mean" role="status">もしかして：<a href="([^"]+)">宮沢賢治</a></p>', page)
    assert match, page
    assert "audience=general" in match.group(1)  # the filters are kept
    assert "Did you mean: " in text_of(client.get("/search?q=宮沢健治&lang=en"))
    assert "銀河鉄道の夜" in text_of(client.get(match.group(1).replace("&amp;", "&")))
    found = text_of(client.get("/search?q=宮沢賢治"))
    assert "did-you-mean" not in found  # a search that finds what it asks for needs no suggestion


def test_suggestions_are_escaped(client, rt):
    seed(rt, title="<b>太字</b>の本", title_reading="フトジ ノ ホン")
    page = text_of(client.get("/search?q=<b>太字</b>の木"))
    assert "did-you-mean" in page
    assert "<b>太字" not in page and "&lt;b&gt;太字&lt;/b&gt;の本" in page
