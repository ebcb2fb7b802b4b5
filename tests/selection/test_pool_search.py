"""Searching the pool: the same answers on SQLite (substring search) and PostgreSQL (GIN index of character
pairs, ``selection.grams``, then the substring test), including after a title changes on re-import."""
from __future__ import annotations

import pytest

from catalog_import.pool import pool_items
from elibrary.selection.pool import import_pool
from elibrary.selection.search import PoolQuery, search_pool
from tests.selection.test_pool import _write_csv

ROWS = [
    "9784990000059,はじめての宇宙,ハジメテ ノ ウチュウ,星野光,ホシノ ヒカル,宙書房,440,児童,ほんのもり,B-1,ワンコピー,1,,,1200,,10",
    "9784990000066,國語の歴史,コクゴ ノ レキシ,齋藤一郎,サイトウ イチロウ,學藝社,810,一般,ほんのもり,B-2,ワンコピー,1,,,1500,,10",
    "9784990000073,森の動物,モリ ノ ドウブツ,森花子,モリ ハナコ,緑書房,480,児童,ほんのもり,B-3,ワンコピー,1,,,900,,10",
    "9784990000080,Python入門,パイソン ニュウモン,Jane Smith,,O'Reilly,007,一般,ほんのもり,B-4,ワンコピー,1,,,3000,,10",
]


def _titles(session, text: str) -> list[str]:
    return sorted(t.title for t in search_pool(session, PoolQuery(text=text)).titles)


@pytest.mark.parametrize(("query", "expected"), [
    ("宇宙", ["はじめての宇宙"]),
    ("うちゅう", ["はじめての宇宙"]),  # the reading, typed in hiragana
    ("国語", ["國語の歴史"]),  # 旧字体 folded
    ("ｻｲﾄｳ", ["國語の歴史"]),  # half-width katakana
    ("森", ["森の動物"]),  # one character
    ("python", ["Python入門"]),
    ("reilly", ["Python入門"]),
    ("の", ["はじめての宇宙", "國語の歴史", "森の動物"]),
    ("宇宙 星野", ["はじめての宇宙"]),  # every word
    ("宇宙 森", []),
    ("宙宇", []),  # both characters are there, not in this order: a pair index alone would say yes
    ("9784990000066", ["國語の歴史"]),
    ("50%_", []),  # LIKE's wildcards are plain text
])
def test_words_find_the_same_titles_on_every_engine(db_session, tmp_path, query, expected):
    import_pool(db_session, pool_items("csv", [_write_csv(tmp_path, ROWS)], "floor"))
    assert _titles(db_session, query) == expected


def test_a_title_changed_by_a_new_import_is_found_by_its_new_words(db_session, tmp_path):
    import_pool(db_session, pool_items("csv", [_write_csv(tmp_path, ROWS)], "floor"))
    renamed = ROWS[0].replace("はじめての宇宙,ハジメテ ノ ウチュウ", "はじめての海,ハジメテ ノ ウミ")
    import_pool(db_session, pool_items("csv", [_write_csv(tmp_path, [renamed], name="again.csv")], "floor"))
    assert _titles(db_session, "宇宙") == []
    assert _titles(db_session, "海") == ["はじめての海"]


def test_after_a_large_import_the_index_is_settled_and_still_answers(db_session, tmp_path):
    from elibrary.selection import grams

    import_pool(db_session, pool_items("csv", [_write_csv(tmp_path, ROWS)], "floor"))
    grams.settle(db_session)  # PostgreSQL: statistics and the GIN pending list merged; SQLite: nothing to do
    assert _titles(db_session, "宇宙") == ["はじめての宇宙"]
    assert _titles(db_session, "宙宇") == []


def test_a_large_import_refreshes_the_statistics_and_is_searched_at_once(rt, tmp_path):
    from catalog_import.pool import ANALYZE_AFTER, run_pool_import
    from elibrary.catalog.isbn import make_isbn13

    rows = [f"{make_isbn13(f'97849{n:07d}')},森の本 {n},モリ ノ ホン,作者{n},サクシャ,森書房,480,児童,ほんのもり,B-{n},ワンコピー,1,,,900,,10"
            for n in range(ANALYZE_AFTER)]
    rows.append(ROWS[0])
    summary = run_pool_import(rt, "csv", [_write_csv(tmp_path, rows)])
    assert summary.titles_added == ANALYZE_AFTER + 1
    with rt.db.scope(write=False) as session:
        assert _titles(session, "宇宙") == ["はじめての宇宙"]
        assert search_pool(session, PoolQuery(text="森の本")).total == ANALYZE_AFTER
