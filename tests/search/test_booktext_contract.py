"""The book-text index contract (本文検索): every implementation gives the same answers."""
from __future__ import annotations

import pytest

from elibrary.search.booktext import PASSAGE_CHARS, BookText, BookTextIndex
from elibrary.search.booktext_memory import MemoryBookText
from elibrary.search.booktext_tantivy import TantivyBookText

STORY = ("むかしむかし、あるところにおじいさんとおばあさんがいました。おじいさんは山へしばかりに、"
         "おばあさんは川へせんたくに行きました。ＰＹＴＨＯＮ 3.11 と (a+b)*c を使う本。國語の時間。")
OTHER = "あるところのオジイサン。コンピューターの\n改行を\nまたぐ話。ﾃﾞｰﾀﾍﾞｰｽもある。"


@pytest.fixture(params=["memory", "tantivy"])
def index(request, tmp_path) -> BookTextIndex:
    if request.param == "memory":
        return MemoryBookText()
    return TantivyBookText(tmp_path / "booktext")


def ids(index: BookTextIndex, query: str) -> list[int]:
    return sorted(hit.title_id for hit in index.search(query))


def test_is_a_book_text_index(index):
    assert isinstance(index, BookTextIndex)


@pytest.mark.parametrize("query, expected", [
    ("ところに", [1]), ("るところ", [1, 2]), ("ところ", [1, 2]),  # even and odd lengths, at even and odd offsets
    ("おじいさん", [1, 2]), ("じいさ", [1, 2]), ("ろのお", [2]), ("さんが", [1]), ("あ", [1, 2]), ("國", [1]), ("語", [1]),
    ("んのお", []), ("しばかりに行", []), ("ないよ", []),
    ("おばあさんは川へせんたくに行きました", [1]),  # a long phrase
])
def test_a_word_matches_an_exact_substring(index, query, expected):
    index.replace([BookText(1, "a", STORY), BookText(2, "b", OTHER)])
    assert ids(index, query) == expected


@pytest.mark.parametrize("query, expected", [
    ("python", [1]), ("ｐｙｔｈｏｎ", [1]), ("3.11", [1]), ("３．１１", [1]),  # 全角/半角
    ("オジイサン", [1, 2]), ("おじいさん", [1, 2]),  # カタカナ/ひらがな
    ("こんぴゅーた", [2]), ("コンピュータ", [2]), ("データベース", [2]), ("でたべす", [2]),  # ｰ dropped, ﾃﾞ = デ
    ("国語", [1]),  # 旧字体
    ("改行をまたぐ", [2]),  # line breaks are not part of the text
    ("(a+b)*c", [1]), (".", [1]), ("*", [1]),  # query syntax is plain text
])
def test_folding_matches_the_ways_a_word_is_written(index, query, expected):
    index.replace([BookText(1, "a", STORY), BookText(2, "b", OTHER)])
    assert ids(index, query) == expected


def test_every_word_must_be_in_one_passage(index):
    far = "ねこがいる。" + "。" * (PASSAGE_CHARS * 2) + "いぬがいる。"
    index.replace([BookText(1, "a", STORY), BookText(3, "c", far)])
    assert ids(index, "おじいさん 川") == [1]
    assert ids(index, "おじいさん 海") == []
    assert ids(index, "ねこ いぬ") == []
    assert ids(index, "ねこ") == [3]


def test_a_hit_across_a_passage_boundary_is_found(index):
    text = "あ" * (PASSAGE_CHARS - 5) + "境目をまたぐ言葉" + "い" * 200
    index.replace([BookText(1, "a", text)])
    (hit,) = index.search("境目をまたぐ言葉")
    assert "境目をまたぐ言葉" in hit.passage.text


def test_replace_delete_sources_rebuild_and_status(index):
    index.replace([BookText(1, "a", STORY), BookText(2, "b", OTHER)])
    assert index.sources([1, 2, 3]) == {1: "a", 2: "b"}
    index.replace([BookText(1, "a2", "まったく別の本文")])
    assert ids(index, "おじいさん") == [2] and index.sources([1]) == {1: "a2"}
    index.delete([2, 99])
    assert ids(index, "おじいさん") == [] and index.sources([1, 2]) == {1: "a2"}
    assert index.status()["ok"] and index.status()["titles"] == 1
    assert index.rebuild([BookText(5, "e", STORY), BookText(6, "f", "")]) == 2
    assert ids(index, "おじいさん") == [5] and index.sources([1, 5, 6]) == {5: "e", 6: "f"}  # an empty book keeps its source


def test_one_hit_per_title_with_its_best_passage(index):
    long_book = ("ほかの話。" * 300) + "きつねの話。" + ("ほかの話。" * 300) + "きつねときつねときつね。"
    index.replace([BookText(1, "a", long_book), BookText(2, "b", "きつね")])
    hits = index.search("きつね")
    assert sorted(h.title_id for h in hits) == [1, 2]
    assert all("きつね" in h.passage.text for h in hits)
    assert len(index.search("きつね", limit=1)) == 1


@pytest.mark.parametrize("query", ["", "   ", "\u3000", "🐱" * 300, "a" * 5000, "\\", "(", '"', "ab\x00cd"])
def test_hostile_queries_are_bounded(index, query):
    index.replace([BookText(1, "a", STORY)])
    assert isinstance(index.search(query), list)


def test_a_second_tantivy_instance_on_the_folder_sees_each_commit(tmp_path):
    first, second = TantivyBookText(tmp_path / "bt"), TantivyBookText(tmp_path / "bt")
    first.replace([BookText(1, "a", STORY)])
    assert ids(second, "おじいさん") == [1]
    second.delete([1])
    assert ids(first, "おじいさん") == []


def test_an_odd_word_whose_halves_match_apart_is_not_a_hit_but_the_titles_real_passage_is(index):
    apart = "さんXんがY" * 150  # "さん" at even offsets, "んが" at odd ones, never "さんが": the best-scoring candidate
    index.replace([BookText(1, "a", apart), BookText(2, "b", apart + "。" * PASSAGE_CHARS + "おじいさんが来た")])
    (hit,) = index.search("さんが")
    assert hit.title_id == 2 and "さんが" in hit.passage.text


def test_one_book_owning_the_best_passages_does_not_crowd_out_the_others(index):
    crowded = ("ねこがいる。" * 160 + "\n") * 60  # ~60 passages full of the word
    index.replace([BookText(1, "a", crowded)] + [BookText(n, str(n), "むかし、ねこがいた。" + "。" * 50) for n in range(2, 8)])
    assert ids(index, "ねこ") == [1, 2, 3, 4, 5, 6, 7]
