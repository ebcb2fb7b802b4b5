"""The tantivy backend inside the application: two workers on one index folder, a busy writer, a rebuild."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from elibrary import create_app
from elibrary.catalog.models import Title
from elibrary.catalog.services import withdraw_title
from elibrary.search.base import SearchQuery
from elibrary.search.tantivy_backend import TantivySearch
from tests.search.test_integration import add_ginga, found

HOLD_WRITER = """
import sys, tantivy
from elibrary.search.tantivy_backend import make_schema
writer = tantivy.Index(make_schema(), path=sys.argv[1], reuse=True).writer(15_000_000, 1)
print("holding", flush=True)
sys.stdin.readline()
writer.rollback()
"""


@pytest.fixture
def app_config(app_config):
    return {**app_config, "ELIBRARY_SEARCH": "tantivy"}


@pytest.fixture
def second_rt(app_config, rt):
    other = create_app(app_config)
    yield other.extensions["elibrary"]
    other.extensions["elibrary"].db.dispose()


def test_a_title_committed_in_one_worker_is_found_by_another(rt, second_rt):
    assert isinstance(rt.search, TantivySearch) and isinstance(second_rt.search, TantivySearch)
    with rt.db.scope() as session:
        title_id = add_ginga(session)
    for query in ("銀河鉄道", "ぎんがてつどう", "みやざわけんじ", "宮沢賢治 夜", "宮沢 賢治"):
        assert found(second_rt, query) == [title_id], query
    with second_rt.db.scope() as session:
        withdraw_title(session, session.get(Title, title_id))
    assert found(rt, "銀河") == []
    assert rt.search.status()["ok"] and second_rt.search.status()["backend"] == "tantivy"


def test_a_busy_index_keeps_the_change_for_the_next_pass(rt, second_rt):
    rt.indexer.run_once()  # the index exists and has its position in the change log (no rebuild to come)
    # Another process (a worker of this server in the middle of a write) holds the index's writer lock.
    holder = subprocess.Popen([sys.executable, "-c", HOLD_WRITER, rt.settings["ELIBRARY_SEARCH_PATH"]],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with rt.db.scope() as session:
            title_id = add_ginga(session)  # committed; indexing meets the lock and leaves the change in the log
        assert found(second_rt, "銀河") == []
    finally:
        holder.communicate("done\n", timeout=30)
    second_rt.indexer.run_once()
    assert found(rt, "銀河") == [title_id]


def test_rebuild_swaps_in_a_new_index_and_keeps_answering(rt, runner):
    with rt.db.scope() as session:
        title_id = add_ginga(session)
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert rt.search.search(SearchQuery(text="銀河")).ids == [title_id]


def _answers(search: TantivySearch, judged) -> list:
    queries = [SearchQuery(text=item.query, with_facets=True) for item in judged]
    queries += [SearchQuery(text=item.query, sort="reading") for item in judged[:40]]
    return [(r.ids, r.total, r.facets) for r in map(search.search, queries)]


def test_a_rebuild_by_helper_processes_answers_as_one_built_here(tmp_path, monkeypatch):
    from elibrary.search import tantivy_build
    from tests.search.judged import load_judged
    from tests.search.judged_catalog import judged_catalog

    monkeypatch.setattr(tantivy_build, "BATCH", 7)  # many small batches, taken in turn by both helpers
    here = TantivySearch(tmp_path / "here", helper_after=None)
    helped = TantivySearch(tmp_path / "helped", helper_after=20)
    catalog = judged_catalog()
    assert here.rebuild(catalog) == helped.rebuild(iter(catalog)) == len(catalog)
    assert len(list((tmp_path / "helped").glob("*.store"))) > len(list((tmp_path / "here").glob("*.store")))  # both helpers' segments
    assert not list(tmp_path.glob("helped.rebuild*"))
    judged = load_judged()
    assert _answers(helped, judged) == _answers(here, judged)
    # The combined index takes changes like any other.
    helped.delete([catalog[0].id])
    helped.upsert([replace(catalog[1], title="ベンチ追加書誌")])
    assert helped.search(SearchQuery(text="ベンチ追加書誌")).ids == [catalog[1].id]
    assert helped.search(SearchQuery(text="")).total == len(catalog) - 1


def test_a_failed_helper_leaves_the_old_index(tmp_path, monkeypatch):
    from elibrary.search import tantivy_build
    from elibrary.search.base import SearchError
    from tests.search.judged_catalog import judged_catalog

    monkeypatch.setattr(tantivy_build, "BATCH", 7)
    search = TantivySearch(tmp_path / "index", helper_after=20)
    catalog = judged_catalog()
    search.rebuild(catalog[:50])
    broken = replace(catalog[60], published="not a date")  # the helper's analysis fails on it
    with pytest.raises(SearchError, match="rebuild failed"):
        search.rebuild([*catalog[50:], broken])
    assert search.search(SearchQuery(text="")).total == 50
    assert not list(tmp_path.glob("index.rebuild*"))


def _write_older_index(path) -> None:
    """What the version before index formats left in the folder: another schema (a 7-byte reading field), no format."""
    import shutil

    import tantivy

    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    builder.add_integer_field("reading8", stored=False, indexed=False, fast=True)
    writer = tantivy.Index(builder.build(), path=str(path)).writer(15_000_000, 1)
    writer.add_document(tantivy.Document(id=1, reading8=0))
    writer.commit()
    writer.wait_merging_threads()


def test_an_index_an_older_version_wrote_is_rebuilt_by_the_server(rt, client):
    from pathlib import Path

    from elibrary.search.base import SearchUnavailable

    with rt.db.scope() as session:
        title_id = add_ginga(session)
    rt.search.close()
    _write_older_index(Path(rt.settings["ELIBRARY_SEARCH_PATH"]))
    assert rt.search.outdated()
    with pytest.raises(SearchUnavailable, match="older version"):
        rt.search.search(SearchQuery(text="銀河"))
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json["checks"]["search"]["schema_current"] is False
    rt.indexer.run_once()  # a worker's next pass over the change log (every few seconds)
    assert not rt.search.outdated()
    assert found(rt, "銀河") == [title_id]
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json["checks"]["search"]["schema_current"] is True


def test_elibrary_init_rebuilds_an_index_an_older_version_wrote(rt, runner):
    from pathlib import Path

    with rt.db.scope() as session:
        title_id = add_ginga(session)
    rt.search.close()
    _write_older_index(Path(rt.settings["ELIBRARY_SEARCH_PATH"]))
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "written by an older version, rebuilding" in result.output and "search index: ok" in result.output
    assert found(rt, "銀河") == [title_id]
    assert "rebuilding" not in runner.invoke(args=["init"]).output  # once only


def test_a_count_known_from_the_term_dictionary_leaves_out_deleted_documents(tmp_path):
    from elibrary.search.base import SearchDocument

    search = TantivySearch(tmp_path / "index", count_cap=3)
    search.upsert([SearchDocument(id=i, title=f"図書館の本 {i}") for i in range(1, 7)])
    assert search.search(SearchQuery(text="図書", limit=2)).total_is_capped  # 6 hits: more than the cap of 3
    search.upsert([SearchDocument(id=i, title=f"別の本 {i}") for i in range(1, 5)])  # 4 no longer match; their old versions are deleted
    for sort in ("relevance", "reading", "newest"):
        result = search.search(SearchQuery(text="図書", sort=sort, limit=2))
        assert (result.total, result.total_is_capped, sorted(result.ids)) == (2, False, [5, 6]), sort
