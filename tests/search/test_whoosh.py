"""Whoosh specifics: several processes on one index, the single writer, rebuilds, damaged indexes."""
from __future__ import annotations

import threading

import pytest
from whoosh import index

from elibrary.search.base import SearchError, SearchQuery, SearchUnavailable
from elibrary.search.whoosh_backend import WhooshSearch, make_schema
from tests.search.conftest import CATALOG, doc


def ids(search, text=""):
    return sorted(search.search(SearchQuery(text=text)).ids)


@pytest.fixture
def path(tmp_path):
    return tmp_path / "deep" / "search-index"


def test_creates_the_index_directory(path):
    search = WhooshSearch(path)
    assert index.exists_in(str(path))
    assert search.status() == {"ok": True, "backend": "whoosh", "documents": 0, "schema_current": True}


def test_schema_holds_only_whoosh_classes():
    # The schema is pickled into the index: no elibrary class may be needed to open it (or to swap engines).
    for name, field in make_schema().items():
        for obj in (field, getattr(field, "analyzer", None), getattr(field, "format", None)):
            if obj is not None:
                assert type(obj).__module__.startswith("whoosh."), (name, obj)


def test_a_commit_in_one_worker_is_seen_by_another(path):
    worker_a, worker_b = WhooshSearch(path), WhooshSearch(path)
    assert ids(worker_b, "猫") == []
    worker_a.upsert(CATALOG)
    assert ids(worker_b, "猫") == [1, 2]
    worker_a.delete([2])
    assert ids(worker_b, "猫") == [1]
    worker_b.upsert([doc(20, "猫町")])
    assert ids(worker_a, "猫") == [1, 20]


def test_many_small_commits_merge_without_losing_documents(path):
    search, reader = WhooshSearch(path), WhooshSearch(path)
    for i in range(1, 41):
        search.upsert([doc(i, f"図書館だより 第{i}号")])
        if i % 10 == 0:
            assert reader.search(SearchQuery(text="図書館")).total == i
    search.upsert([doc(5, "改題された本")])
    assert reader.search(SearchQuery(text="図書館")).total == 39
    assert ids(reader, "改題") == [5]


def test_a_busy_writer_makes_others_give_up_quickly(path):
    holder, other = WhooshSearch(path), WhooshSearch(path, lock_timeout=0.2)
    writer = index.open_dir(str(path)).writer()
    try:
        with pytest.raises(SearchUnavailable):
            other.upsert([doc(1, "待つ本")])
        with pytest.raises(SearchUnavailable):
            other.delete([1])
    finally:
        writer.cancel()
    other.upsert([doc(1, "待つ本")])
    assert ids(holder, "待つ") == [1]


def test_rebuild_swaps_in_a_fresh_index(path):
    search, reader = WhooshSearch(path), WhooshSearch(path)
    search.upsert(CATALOG)
    assert ids(reader, "猫") == [1, 2]
    progress = []
    assert search.rebuild((doc(100 + i, f"新しい目録 {i}") for i in range(25)), progress=progress.append) == 25
    assert progress == list(range(1, 26))
    assert ids(reader, "猫") == []
    assert reader.search(SearchQuery(text="目録")).total == 25


def test_a_failed_rebuild_leaves_the_old_index(path):
    search = WhooshSearch(path)
    search.upsert(CATALOG)

    def broken():
        yield doc(100, "途中まで")
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        search.rebuild(broken())
    assert ids(search, "猫") == [1, 2]
    search.upsert([doc(101, "その後の本")])  # the write lock was released
    assert ids(search, "その後") == [101]


def test_an_index_of_another_schema_is_rebuilt(path):
    from whoosh import fields

    path.mkdir(parents=True)
    index.create_in(str(path), fields.Schema(id=fields.ID(stored=True), body=fields.TEXT()))
    search = WhooshSearch(path)
    assert search.status()["schema_current"] is False
    search.rebuild(CATALOG)
    assert search.status()["schema_current"] is True
    assert ids(search, "猫") == [1, 2]


# Whoosh leaves the damaged table-of-contents file open when it fails to read it (its bug, not ours).
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_damaged_index_is_reported_and_rebuild_repairs_it(path):
    search = WhooshSearch(path)
    search.upsert(CATALOG)
    for toc in path.glob("*.toc"):
        toc.write_bytes(b"not an index")
    damaged = WhooshSearch(path)
    status = damaged.status()
    assert status["ok"] is False and "cannot" in status["error"]
    with pytest.raises(SearchUnavailable):
        damaged.search(SearchQuery(text="猫"))
    assert isinstance(SearchUnavailable("x"), SearchError)
    damaged.rebuild(CATALOG)
    assert ids(damaged, "猫") == [1, 2]
    assert damaged.status()["ok"] is True


# When a commit deletes merged segment files while a reader is being opened, Whoosh retries the open but
# leaves the files it had already opened to the garbage collector (its bug; harmless, but it warns).
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_searches_run_while_another_thread_writes(path):
    search = WhooshSearch(path)
    search.upsert(CATALOG)
    errors: list[BaseException] = []

    def write():
        try:
            for i in range(100, 130):
                search.upsert([doc(i, f"追加の本 {i}")])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    while thread.is_alive():
        assert ids(search, "猫") == [1, 2]
    thread.join()
    assert errors == []
    assert search.search(SearchQuery(text="追加")).total == 30


def test_from_settings_reads_path_and_cap(tmp_path):
    search = WhooshSearch.from_settings({"ELIBRARY_SEARCH_PATH": str(tmp_path / "ix"), "ELIBRARY_SEARCH_COUNT_CAP": 3})
    search.upsert([doc(i, "同じ本") for i in range(1, 6)])
    result = search.search(SearchQuery(text="同じ"))
    assert (result.total, result.total_is_capped) == (3, True)


def test_a_search_racing_a_merge_retries_instead_of_reading_default_ids(path, monkeypatch):
    # Deterministic form of the race above: the column file of a segment vanishes after its reader opened.
    search = WhooshSearch(path)
    search.upsert(CATALOG)
    columns = [f for name in ("num", "published", "reading") for f in path.glob(f"*.{name}.col")]
    assert columns
    for column in columns:
        column.rename(column.with_name(column.name + ".moved"))
    calls = []
    real = WhooshSearch._segments

    def segments(self):
        calls.append(1)
        if len(calls) == 2:  # the retry: the files are back, as in a fresh generation
            for column in columns:
                column.with_name(column.name + ".moved").rename(column)
        return real(self)

    monkeypatch.setattr(WhooshSearch, "_segments", segments)
    assert ids(search, "猫") == [1, 2]
    assert len(calls) == 2


def test_a_segment_that_stays_gone_is_reported_unavailable(path):
    search = WhooshSearch(path)
    search.upsert(CATALOG)
    for column in path.glob("*.num.col"):
        column.unlink()
    with pytest.raises(SearchUnavailable):
        search.search(SearchQuery(text="猫"))


def test_an_index_without_stored_phrases_keeps_indexing_until_rebuilt(path):
    # An index written before suggestions existed: updates go on; suggestions come after a rebuild.
    path.mkdir(parents=True)
    old = make_schema()
    old.remove("phrases")
    index.create_in(str(path), old)
    search = WhooshSearch(path)
    search.upsert([doc(1, "風の又三郎", contributors=("宮沢 賢治",))])
    assert ids(search, "宮沢賢治") == [1]
    assert search.suggest("宮沢健治") == []
    assert search.status()["schema_current"] is False
    search.rebuild([doc(1, "風の又三郎", contributors=("宮沢 賢治",))])
    assert search.suggest("宮沢健治") == ["宮沢賢治"]
