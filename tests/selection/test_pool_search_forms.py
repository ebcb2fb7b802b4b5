"""Issue #15: the pool finds what librarians type, as the catalog does — names and readings typed
without their spaces or middle dots, and NDL readings (particles as pronounced, spaced words) typed
whole — without matching across two names or parts (on SQLite and PostgreSQL, and through the page)."""
from __future__ import annotations

import pytest

from catalog_import.pool import pool_items
from elibrary.selection import grams
from elibrary.selection.models import PoolTitle
from elibrary.selection.pool import import_pool, search_text
from elibrary.selection.search import PoolQuery, search_pool
from tests.conftest import sign_in_staff
from tests.selection.test_pool import _write_csv

ROWS = [
    "9784990000103,吾輩は猫である,ワガハイ ワ ネコ デ アル,夏目 漱石,ナツメ ソウセキ,岩波書店,913,一般,ほんのもり,S-1,ワンコピー,1,,,1200,,10",
    "9784990000110,はらぺこあおむし,ハラペコ アオムシ,エリック・カール,エリック カール,偕成社,726,児童,ほんのもり,S-2,ワンコピー,1,,,1300,,10",
    "9784990000127,舞姫,マイヒメ,森 鷗外,モリ オウガイ,緑書房,913,一般,ほんのもり,S-3,ワンコピー,1,,,900,,10",
    "9784990000134,橋の歴史,ハシ ノ レキシ,山田 太郎,ヤマダ タロウ,土木社,515,一般,ほんのもり,S-4,ワンコピー,1,,,2500,,10",
]


def _titles(session, text: str) -> list[str]:
    return sorted(t.title for t in search_pool(session, PoolQuery(text=text)).titles)


@pytest.mark.parametrize(("query", "expected"), [
    ("夏目漱石", ["吾輩は猫である"]),  # a name typed without its space
    ("夏目 漱石", ["吾輩は猫である"]),  # and with it
    ("なつめそうせき", ["吾輩は猫である"]),  # its reading without the space
    ("ナツメソウセキ", ["吾輩は猫である"]),
    ("わがはいはねこである", ["吾輩は猫である"]),  # NDL's ワガハイ ワ ネコ デ アル typed as written
    ("わがはいわねこである", ["吾輩は猫である"]),  # and as pronounced
    ("エリックカール", ["はらぺこあおむし"]),  # a name with a middle dot
    ("えりっくかーる", ["はらぺこあおむし"]),
    ("ｴﾘｯｸｶｰﾙ", ["はらぺこあおむし"]),  # half-width
    ("森鴎外", ["舞姫"]),  # 鷗 → 鴎 and no space
    ("もりおうがい", ["舞姫"]),
    ("はしのれきし", ["橋の歴史"]),
    # Precision: folding joins a name or a reading only with itself.
    ("わし", []),  # はし is never read as わし: only a particle standing alone is
    ("わしのれきし", []),
    ("漱石森", []),  # the end of one author and the start of another
    ("そうせきえりっく", []),
    ("ねこであるなつめ", []),  # a title's reading and an author's reading are not one word
    ("猫であるナツメ", []),
    ("はらぺこあおむしえりっく", []),
])
def test_forms_typed_as_people_type_them(db_session, tmp_path, query, expected):
    import_pool(db_session, pool_items("csv", [_write_csv(tmp_path, ROWS)], "floor"))
    assert _titles(db_session, query) == expected


def test_search_text_keeps_names_apart():
    text = search_text({"title": "往復書簡", "contributors": [["夏目 漱石", "ナツメ ソウセキ", "著"], ["森 鷗外", "モリ オウガイ", "著"]]})
    words = text.split()
    assert "夏目漱石" in words and "森鴎外" in words and "なつめそうせき" in words
    assert "漱石森" not in text and "そうせきもり" not in text


def test_titles_stored_before_are_recomputed_by_the_migration(db_session, tmp_path):
    """The data migration's upgrade, run on rows whose search text was computed the old way."""
    import importlib.util
    from pathlib import Path

    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    import_pool(db_session, pool_items("csv", [_write_csv(tmp_path, ROWS)], "floor"))
    old = {"吾輩は猫である": "吾輩は猫である わがはい わ ねこ で ある 夏目 漱石 なつめ そうせき 岩波書店 9784990000103"}
    for title in db_session.query(PoolTitle):
        title.search_text = old.get(title.title, title.title)
    db_session.flush()
    grams.refresh(db_session, [t.id for t in db_session.query(PoolTitle)])
    assert _titles(db_session, "夏目漱石") == []

    path = Path(__file__).parents[2] / "elibrary/migrations/versions/0150_selsearch_pool_search_text.py"
    spec = importlib.util.spec_from_file_location("selsearch_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    migration.BATCH = 2  # several batches
    connection = db_session.connection()
    with Operations.context(MigrationContext.configure(connection)):
        migration.upgrade()
    db_session.expire_all()
    assert _titles(db_session, "夏目漱石") == ["吾輩は猫である"]
    assert _titles(db_session, "わがはいはねこである") == ["吾輩は猫である"]
    assert _titles(db_session, "エリックカール") == ["はらぺこあおむし"]
    assert _titles(db_session, "漱石森") == []


def test_librarian_finds_them_on_the_pool_page(client, rt, tmp_path):
    sign_in_staff(client, rt, "librarian")
    with rt.db.scope() as session:
        import_pool(session, pool_items("csv", [_write_csv(tmp_path, ROWS)], "floor"))
    for query, title in (("夏目漱石", "吾輩は猫である"), ("なつめそうせき", "吾輩は猫である"),
                         ("わがはいはねこである", "吾輩は猫である"), ("エリックカール", "はらぺこあおむし")):
        page = client.get("/staff/selection/", query_string={"q": query})
        assert page.status_code == 200 and title in page.text, query
        other = "はらぺこあおむし" if title == "吾輩は猫である" else "吾輩は猫である"
        assert other not in page.text, query
    assert "吾輩は猫である" not in client.get("/staff/selection/", query_string={"q": "漱石森"}).text
