"""Search documents read from the database in bulk: every field of the title, credits in order, only active titles."""
from __future__ import annotations

from datetime import date

from elibrary.catalog import indexing
from elibrary.catalog.services import ContributorCredit, SubjectEntry, withdraw_title
from elibrary.search.base import SearchDocument, SearchQuery
from elibrary.search.memory import MemorySearch
from tests.catalog.factories import make_title


def test_build_documents_reads_every_field_of_the_title(db_session):
    title = make_title(
        db_session,
        title="銀河鉄道の夜",
        title_reading="ギンガ テツドウ ノ ヨル",
        subtitle="新装版",
        series_title="名作文庫",
        series_reading="メイサク ブンコ",
        publisher="岩波書店",
        published_on=date(2001, 5, 1),
        isbn="978-4-00-310762-1",
        ndc="913.6",
        language="ja",
        audience="children",
        format="epub-fixed",
        description="ジョバンニとカムパネルラの旅。",
        contributors=(ContributorCredit("宮沢賢治", "ミヤザワ ケンジ"), ContributorCredit("画家一郎", "", "ill"),
                      ContributorCredit("Jane Smith", "", "trl")),
        subjects=("童話", SubjectEntry(scheme="ndlsh", term="宇宙")),
    )
    (document,) = indexing.build_documents(db_session, [title.id])
    assert document == SearchDocument(
        id=title.id, title="銀河鉄道の夜", title_reading="ギンガ テツドウ ノ ヨル", subtitle="新装版", series="名作文庫",
        series_reading="メイサク ブンコ", contributors=("宮沢賢治", "画家一郎", "Jane Smith"), contributor_readings=("ミヤザワ ケンジ",),
        publisher="岩波書店", subjects=("童話", "宇宙"), description="ジョバンニとカムパネルラの旅。", isbn="9784003107621",
        ndc="913.6", audience="children", format="epub-fixed", language="ja", published=date(2001, 5, 1), available=True,
    )


def test_build_documents_skips_withdrawn_and_unknown_ids_and_applies_enrichers(db_session):
    kept, gone, bare = make_title(db_session), make_title(db_session), make_title(db_session, contributors=(), isbn=None)
    withdraw_title(db_session, gone)
    seen = []

    def availability(session, ids):
        seen.append(sorted(ids))
        return {kept.id: {"available": False}}

    documents = indexing.build_documents(db_session, [bare.id, gone.id, kept.id, 10**9], [availability])
    assert [d.id for d in documents] == sorted([kept.id, bare.id])
    assert seen == [sorted([kept.id, bare.id])]
    assert [d.available for d in documents] == [d.id != kept.id for d in documents]
    assert documents[[d.id for d in documents].index(bare.id)].contributors == ()
    assert indexing.build_documents(db_session, []) == []


def test_rebuild_index_reads_every_active_title_in_batches(db_session, monkeypatch):
    monkeypatch.setattr(indexing, "REBUILD_BATCH", 3)
    titles = [make_title(db_session, title=f"図書館だより 第{i}号") for i in range(8)]
    withdraw_title(db_session, titles[4])
    search, progress = MemorySearch(), []
    assert indexing.rebuild_index(db_session, search, progress=progress.append) == 7
    assert progress == list(range(1, 8))
    found = search.search(SearchQuery(text="図書館", limit=20))
    assert sorted(found.ids) == sorted(t.id for i, t in enumerate(titles) if i != 4)
