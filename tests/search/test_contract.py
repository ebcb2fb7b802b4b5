"""The search contract: every backend (the in-memory fake and Whoosh) behaves the same."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from elibrary.search.base import FACETS, SearchBackend, SearchQuery
from tests.search.conftest import BACKENDS, CATALOG, build_backend, doc, drop_backend


@pytest.fixture
def filled(backend):
    backend.upsert(CATALOG)
    return backend


def ids(backend, text="", **kwargs):
    return backend.search(SearchQuery(text=text, **kwargs)).ids


def test_is_a_search_backend(backend):
    assert isinstance(backend, SearchBackend)


def test_empty_index_answers_nothing(backend):
    result = backend.search(SearchQuery(text="猫"))
    assert (result.ids, result.total, result.total_is_capped) == ([], 0, False)
    assert backend.status()["ok"] is True


def test_upsert_then_search(filled):
    assert sorted(ids(filled, "猫")) == [1, 2]
    assert ids(filled, "事務所") == [2]


def test_upsert_replaces_a_document(filled):
    filled.upsert([replace(CATALOG[1], title="犬の事務所", title_reading="イヌ ノ ジムショ")])
    assert ids(filled, "事務所") == [2]
    assert ids(filled, "犬") == [2]
    assert 2 not in ids(filled, "猫")
    assert filled.search(SearchQuery()).total == len(CATALOG)


def test_delete_removes_and_ignores_unknown_ids(filled):
    filled.delete([2, 999])
    assert ids(filled, "猫") == [1]
    assert filled.search(SearchQuery()).total == len(CATALOG) - 1
    filled.delete([])


def test_rebuild_replaces_everything_and_reports_progress(filled):
    seen = []
    count = filled.rebuild([doc(10, "新しい本"), doc(11, "もう一冊の本")], progress=seen.append)
    assert count == 2
    assert seen[-1] == 2
    assert sorted(ids(filled)) == [10, 11]
    assert ids(filled, "猫") == []


def test_words_are_anded(filled):
    assert ids(filled, "夏目漱石 こころ") == [7]
    assert ids(filled, "猫 事務所") == [2]
    assert ids(filled, "猫 python") == []


def test_relevance_puts_title_matches_first(filled):
    # 7 has 漱石 as author; 1 too. A title match beats an author-only match.
    filled.upsert([doc(8, "漱石とその時代", published=date(1980, 1, 1))])
    assert ids(filled, "漱石")[0] == 8
    assert set(ids(filled, "漱石")) == {1, 7, 8}


def test_relevance_ties_are_newest_first(filled):
    assert ids(filled, "夏目漱石") == [7, 1]


def test_sort_newest_puts_undated_last(filled):
    assert ids(filled, sort="newest") == [5, 4, 2, 7, 1, 3, 6]


def test_sort_by_reading_is_gojuon(filled):
    # English (no reading: sorted by its title) first, then こくご, こころ, ねこの, はじめて, ばいおりん, わがはい.
    assert ids(filled, sort="reading") == [5, 3, 7, 2, 4, 6, 1]


def test_empty_query_returns_everything_sorted(filled):
    result = filled.search(SearchQuery(text="", sort="newest"))
    assert result.total == len(CATALOG)
    assert result.ids == [5, 4, 2, 7, 1, 3, 6]


def test_unknown_sort_falls_back_to_relevance(filled):
    assert ids(filled, "猫", sort="bogus") == ids(filled, "猫")


def test_paging(filled):
    everything = ids(filled, sort="newest", limit=100)
    pages = [ids(filled, sort="newest", offset=o, limit=3) for o in (0, 3, 6)]
    assert sum(pages, []) == everything
    assert ids(filled, sort="newest", offset=50) == []


def test_facet_counts(filled):
    facets = filled.search(SearchQuery(text="")).facets
    assert set(facets) == set(FACETS)
    assert facets["audience"] == {"general": 4, "children": 2, "ya": 1}
    assert facets["format"] == {"epub-reflowable": 5, "epub-fixed": 1, "pdf": 1}
    assert facets["language"] == {"ja": 6, "en": 1}
    assert facets["ndc1"] == {"9": 3, "8": 1, "0": 2, "7": 1}
    assert facets["availability"] == {"available": 6, "unavailable": 1}


def test_facets_count_the_hits_only(filled):
    facets = filled.search(SearchQuery(text="猫")).facets
    assert facets["audience"] == {"general": 1, "children": 1}
    assert facets["format"] == {"epub-reflowable": 1, "epub-fixed": 1}


def test_facets_can_be_skipped(filled):
    assert filled.search(SearchQuery(text="猫", with_facets=False)).facets == {}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"audience": "children"}, [2, 4]),
        ({"format": "pdf"}, [5]),
        ({"language": "en"}, [5]),
        ({"ndc1": "9"}, [1, 2, 7]),
        ({"availability": "unavailable"}, [4]),
        ({"audience": "children", "format": "epub-fixed"}, [2]),
        ({"audience": ""}, [1, 2, 3, 4, 5, 6, 7]),
        ({"audience": "nobody"}, []),
        ({"colour": "red"}, []),
    ],
)
def test_filters(filled, filters, expected):
    assert sorted(ids(filled, filters=filters)) == expected


def test_filter_and_text(filled):
    assert ids(filled, "猫", filters={"audience": "children"}) == [2]


@pytest.mark.parametrize("name", BACKENDS)
def test_count_is_capped(name, tmp_path):
    search = build_backend(name, tmp_path / "index", count_cap=5)
    search.upsert([doc(i, f"図書館の本 {i}") for i in range(1, 13)])
    result = search.search(SearchQuery(text="図書館", limit=20))
    assert result.total == 5
    assert result.total_is_capped is True
    assert len(result.ids) == 12  # the cap limits the count, not the hits one can page through
    exact = search.search(SearchQuery(text="図書館", filters={"format": "epub-reflowable"}, limit=3))
    assert exact.total_is_capped is True
    few = search.search(SearchQuery(text="図書館 12"))
    assert (few.ids, few.total, few.total_is_capped) == ([12], 1, False)
    drop_backend(search)


def test_status_counts_documents(filled):
    status = filled.status()
    assert status["ok"] is True
    assert status["documents"] == len(CATALOG)


# -- the judged queries: what people type, over a catalog stored as real records store it -----------------
from tests.search.judged import judge, load_judged  # noqa: E402
from tests.search.judged_catalog import judged_catalog  # noqa: E402

JUDGED = load_judged()


@pytest.fixture(scope="module", params=BACKENDS)
def judged_backend(request, tmp_path_factory):
    search = build_backend(request.param, tmp_path_factory.mktemp("judged") / "index")
    search.upsert(judged_catalog())
    yield search, {d.id: d.title for d in judged_catalog()}
    drop_backend(search)


def test_the_judged_set_is_large_and_consistent():
    titles = {d.title for d in judged_catalog()}
    assert len(JUDGED) >= 150
    assert len({j.query for j in JUDGED}) == len(JUDGED)
    for item in JUDGED:
        assert item.must or item.nothing, item.query
        assert set(item.must + item.must_not) <= titles, item.query  # a typo would make a judgement vacuous
        assert not set(item.must) & set(item.must_not), item.query


@pytest.mark.parametrize("item", JUDGED, ids=[j.query for j in JUDGED])
def test_judged_query(judged_backend, item):
    backend, titles = judged_backend
    assert judge(backend, item, titles) == [], item.note


# -- もしかして: every backend suggests the same corrections -----------------------------------------------
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("宮沢健治", ["宮沢賢治"]),  # one wrong kanji; 宮澤賢治 is the same query to the index, offered once
        ("銀河鉄道の夜 宮沢健治", ["銀河鉄道の夜 宮沢賢治"]),  # the word that finds something is kept
        ("みやざわけんぢ", ["宮沢賢治"]),  # by the name's reading
        ("夏目潄石", ["夏目漱石"]),  # a look-alike kanji
        ("はらぺこあおむす", ["はらぺこあおむし"]),
        ("えりっくかある", ["エリック・カール"]),  # the name as the record shows it
        ("銀河鉄道の昼", ["銀河鉄道の夜"]),
        ("harry poter", ["harry potter"]),  # a Latin word by the words of titles and names
        ("hungri caterpillar", ["hungry caterpillar"]),
        ("宮沢健治 xyzzy", ["宮沢賢治"]),  # a word like nothing in the catalog is left out
        ("xyzzy 猫 量子", ["猫"]),
    ],
)
def test_suggestions(judged_backend, query, expected):
    backend, _titles = judged_backend
    assert backend.suggest(query)[: len(expected)] == expected
    for suggestion in backend.suggest(query):
        assert backend.search(SearchQuery(text=suggestion)).total > 0  # every suggestion finds something


@pytest.mark.parametrize("query", ["宮沢賢治", "xyzzy", "", "   ", "\ud800", "*", "あ", "q" * 300, "xyzzy qwzx",
                                   "宮沢賢治 銀河鉄道の夜", " ".join(["宮沢健治"] * 20)])
def test_no_suggestion_when_nothing_to_correct_or_nothing_close(judged_backend, query):
    backend, _titles = judged_backend
    assert backend.suggest(query) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("村上春樹 限りなく透明に近いブルー", ["限りなく透明に近いブルー", "村上春樹"]),  # the novel is 村上龍's
        ("銀河鉄道の夜 ハリー・ポッター", ["銀河鉄道の夜", "ハリー・ポッター"]),  # two titles: each found, never together
    ],
)
def test_a_query_whose_words_find_titles_apart_suggests_its_largest_parts(judged_backend, query, expected):
    backend, _titles = judged_backend
    assert backend.search(SearchQuery(text=query)).total == 0
    assert backend.suggest(query) == expected


def test_suggestions_honour_the_limit(judged_backend):
    backend, _titles = judged_backend
    assert len(backend.suggest("ハリーポッターと炎のゴブレット", limit=1)) == 1
    assert backend.suggest("宮沢健治", limit=0) == []


def test_suggestions_follow_the_index(backend):
    assert backend.suggest("宮沢健治") == []
    backend.upsert([doc(1, "風の又三郎", contributors=("宮沢 賢治",))])
    assert backend.suggest("宮沢健治") == ["宮沢賢治"]
    backend.delete([1])
    assert backend.suggest("宮沢健治") == []


def test_recall_and_precision_of_the_judged_set(judged_backend):
    from tests.search.judged import recall_precision

    backend, titles = judged_backend
    assert recall_precision(backend, JUDGED, titles) == (1.0, 1.0)
    # An engine that answers everything with the first five titles would be measured as poor.
    class Careless:
        def search(self, query):
            from elibrary.search.base import SearchResult
            return SearchResult(ids=[1, 2, 3, 4, 5], total=5)
    recall, precision = recall_precision(Careless(), JUDGED, titles)
    assert recall < 0.2 and precision < 0.96  # precision only counts judged-wrong titles, so it falls less


def test_a_whole_title_reading_or_name_ranks_first(backend):
    backend.upsert([
        doc(1, "橋", title_reading="ハシ", published=date(1990, 1, 1)),
        doc(2, "はしのはなし", title_reading="ハシ ノ ハナシ", published=date(2020, 1, 1)),
        doc(3, "箸の歴史", title_reading="ハシ ノ レキシ", published=date(2021, 1, 1)),
        doc(4, "カールの本", published=date(2022, 1, 1)),
        doc(5, "はらぺこあおむし", contributors=("エリック・カール",), published=date(1976, 1, 1)),
        doc(6, "吾輩は猫である", title_reading="ワガハイ ワ ネコ デ アル", published=date(1905, 1, 1)),
        doc(7, "吾輩は猫であるの研究", published=date(2010, 1, 1)),
    ])
    assert ids(backend, "はし")[0] == 1  # the whole reading, before newer titles containing it
    assert ids(backend, "カール")[0] == 5  # a whole part of a name, before a title containing it
    assert ids(backend, "わがはいはねこである")[0] == 6  # the reading with its particle as written
    assert ids(backend, "吾輩は猫である")[:2] == [6, 7]
