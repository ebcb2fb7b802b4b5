"""The index follows the database, through the application: commit in one worker, find it in another."""
from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select, update
from whoosh import index

from elibrary import create_app
from elibrary.catalog import indexing
from elibrary.catalog.indexing import process_queue
from elibrary.catalog.models import SearchQueueEntry, Title
from elibrary.catalog.services import ContributorCredit, title_data_of, update_title, withdraw_title
from elibrary.search.base import SearchQuery
from elibrary.search.whoosh_backend import WhooshSearch
from tests.catalog.factories import make_title
from tests.slow_work import SlowWork


@pytest.fixture
def app_config(app_config):
    app_config["ELIBRARY_SEARCH"] = "whoosh"
    return app_config


@pytest.fixture
def second_rt(app_config, rt):
    """A second application (another gunicorn worker) on the same instance folder and database."""
    other = create_app(app_config)
    yield other.extensions["elibrary"]
    other.extensions["elibrary"].db.dispose()


def found(runtime, text):
    return runtime.search.search(SearchQuery(text=text)).ids


def add_ginga(session) -> int:
    title = make_title(
        session,
        title="銀河鐵道の夜",
        title_reading="ギンガ テツドウ ノ ヨル",
        contributors=(ContributorCredit("宮沢賢治", "ミヤザワ ケンジ"),),
    )
    return title.id


def test_a_title_committed_in_one_worker_is_found_by_another(rt, second_rt):
    assert isinstance(rt.search, WhooshSearch) and isinstance(second_rt.search, WhooshSearch)
    with rt.db.scope() as session:
        title_id = add_ginga(session)
    for query in ("銀河鉄道", "ぎんがてつどう", "みやざわけんじ", "宮沢賢治 夜"):
        assert found(second_rt, query) == [title_id], query

    with second_rt.db.scope() as session:
        title = session.get(Title, title_id)
        update_title(session, title, replace(title_data_of(title), title="銀河鉄道の朝", title_reading="ギンガ テツドウ ノ アサ"))
    assert found(rt, "朝") == [title_id]
    assert found(rt, "夜") == []

    with rt.db.scope() as session:
        withdraw_title(session, session.get(Title, title_id))
    assert found(second_rt, "銀河") == []
    with rt.db.scope() as session:
        assert session.scalar(select(func.count()).select_from(SearchQueueEntry)) > 0  # the log stays for other servers
        assert indexing.lag(session, rt.search)["behind"] == 0


def test_a_rolled_back_title_is_never_indexed(rt):
    with pytest.raises(RuntimeError), rt.db.scope() as session:
        add_ginga(session)
        raise RuntimeError("the request failed")
    assert found(rt, "銀河") == []


def test_a_busy_index_keeps_the_queue_until_the_next_pass(rt, second_rt):
    writer = index.open_dir(rt.settings["ELIBRARY_SEARCH_PATH"]).writer()
    try:
        with rt.db.scope() as session:
            title_id = add_ginga(session)  # committed; indexing fails on the lock and is logged
        assert found(second_rt, "銀河") == []
        with rt.db.scope() as session:
            assert session.scalar(select(func.count()).select_from(SearchQueueEntry)) >= 1
    finally:
        writer.cancel()
    with rt.db.scope() as session:
        assert indexing.lag(session, rt.search)["behind"] != 0  # no position yet, or behind
    second_rt.indexer.run_once()  # any worker's next pass (the background thread polls every 2 s)
    assert found(rt, "銀河") == [title_id]
    with rt.db.scope() as session:
        assert indexing.lag(session, rt.search)["behind"] == 0
        assert process_queue(session, rt.search) >= 0  # a pass with nothing new only looks at the recent window


def test_reindex_command_rebuilds_from_the_database(rt, runner):
    with rt.db.scope() as session:
        title_id = add_ginga(session)
    rt.search.rebuild([])  # the index lost everything
    assert found(rt, "銀河") == []
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "indexed 1 titles" in result.output
    assert found(rt, "銀河") == [title_id]
    with rt.db.scope() as session:
        assert indexing.lag(session, rt.search)["behind"] == 0


def test_a_rebuild_takes_the_position_of_its_snapshot_and_later_changes_follow(rt):
    with rt.db.scope() as session:
        first = add_ginga(session)
    with rt.db.scope(write=False) as session:
        newest = indexing.newest_change(session)
        indexing.rebuild_index(session, rt.search)
    with rt.db.scope() as session:  # committed while the rebuild ran: after its snapshot
        later = make_title(session, title="風の又三郎", title_reading="カゼ ノ マタサブロウ").id
    rt.search.delete([later])  # as if the rebuild's swap had dropped it
    indexing.record_rebuild(rt.search, newest)
    assert found(rt, "又三郎") == []
    rt.indexer.run_once()
    assert found(rt, "又三郎") == [later] and found(rt, "銀河") == [first]


def test_healthz_reports_the_search_index(client):
    body = client.get("/healthz").get_json()
    assert body["checks"]["search"]["ok"] is True
    assert body["checks"]["search"]["backend"] == "whoosh"


def test_a_change_committed_after_the_index_passed_its_id_is_still_applied(rt):
    from sqlalchemy import update

    with rt.db.scope() as session:
        first = add_ginga(session)
        other = make_title(session, title="風の又三郎", title_reading="カゼ ノ マタサブロウ").id
    rt.indexer.run_once()  # (a process's first pass after a rebuild looks again at the whole recent window)
    with rt.db.scope() as session:
        newest = indexing.newest_change(session)
        session.execute(update(Title).where(Title.id == other).values(title="風の又四郎"))  # Core SQL: no entry
        session.add(SearchQueueEntry(id=newest + 1000, title_id=first))  # a later id, committed first
    rt.indexer.run_once()
    with rt.db.scope() as session:
        assert indexing.lag(session, rt.search)["position"] == newest + 1000
        session.add(SearchQueueEntry(id=newest + 500, title_id=other))  # an earlier id, committed late
    assert found(rt, "又四郎") == []
    rt.indexer.run_once()
    assert found(rt, "又四郎") == [other]  # the pass looked into the gap it had passed over
    with rt.db.scope() as session:
        session.execute(update(Title).where(Title.id == other).values(title="風の又五郎"))
    rt.indexer.run_once()
    assert found(rt, "又四郎") == [other]  # an entry of the gap is applied once, not on every pass


def test_a_write_never_waits_for_an_index_pass(rt, monkeypatch):
    """An index pass reads the database, then writes the index (seconds for a big change, minutes for a
    rebuild on a new server): meanwhile sign-ins and loans must go on. On SQLite, a pass that held the
    write lock made every writer wait, and fail after the 30 s busy timeout."""
    slow, titles = SlowWork(), []
    for name in ("upsert", "rebuild"):  # a new server's first pass rebuilds its empty index
        monkeypatch.setattr(rt.search, name, slow.wrap(getattr(rt.search, name)))

    def commit_a_title():
        with rt.db.scope() as session:
            titles.append(add_ginga(session))  # the commit runs the index pass in this thread (tests index inline)

    seconds, still_indexing = slow.write_during(commit_a_title, rt, update(Title).where(Title.id == 1).values(publisher="別の書房"))
    assert still_indexing and seconds < 5, seconds
    assert found(rt, "銀河") == titles == [1]
