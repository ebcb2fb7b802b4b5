"""Several app servers on one database, each with its own search index: every change reaches every index.

Two applications stand for two servers: separate instance folders (so separate Whoosh indexes), one
database (PostgreSQL when ``ELIBRARY_TEST_DATABASE_URL`` is set), one shared storage path and the same
keys, each following the change log on its own background thread as a gunicorn worker does.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import replace

import pytest

from elibrary import create_app
from elibrary.catalog import indexing
from elibrary.catalog.models import BookFile, Title
from elibrary.catalog.services import ContributorCredit, title_data_of, update_title, withdraw_title
from elibrary.search.base import SearchQuery
from tests.catalog.factories import make_title
from tests.conftest import make_test_config

WITHIN = 10.0  # seconds: a change made on one server is searchable on the other by then


@pytest.fixture
def servers(tmp_path, database_url):
    shared = {"ELIBRARY_SEARCH_SYNC": False, "ELIBRARY_SEARCH_POLL_SECONDS": 0.2,
              "ELIBRARY_STORAGE_PATH": str(tmp_path / "shared-storage")}
    first = create_app(make_test_config(tmp_path / "server-a", database_url, **shared))
    (tmp_path / "server-b").mkdir()
    for key in ("secret_key", "data_key"):  # the servers share their keys (and database and storage), not indexes
        shutil.copy(tmp_path / "server-a" / key, tmp_path / "server-b" / key)
    second = create_app(make_test_config(tmp_path / "server-b", database_url, **shared))
    apps = [first, second]
    for app in apps:
        app.test_client().get("/healthz")  # a first request starts the worker's follower
    yield apps
    for app in apps:
        app.extensions["elibrary"].stop_following()
        app.extensions["elibrary"].db.dispose()


def eventually(check, within: float = WITHIN) -> float:
    """Seconds until ``check()`` holds; fails after ``within``."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < within, "not seen on the other server in time"
        time.sleep(0.05)
    return time.monotonic() - start


def found(app, text, **filters) -> list[int]:
    return app.extensions["elibrary"].search.search(SearchQuery(text=text, filters=filters)).ids


def page(app, query: str) -> str:
    return app.test_client().get("/search", query_string={"q": query}).get_data(as_text=True)


def test_every_change_reaches_the_other_servers_index(servers):
    a, b = servers
    ra, rb = (app.extensions["elibrary"] for app in servers)
    assert ra.settings["ELIBRARY_SEARCH_PATH"] != rb.settings["ELIBRARY_SEARCH_PATH"]

    with ra.db.scope() as session:  # a librarian adds a title on server A
        title_id = make_title(session, title="銀河鉄道の夜", title_reading="ギンガ テツドウ ノ ヨル", isbn="9784101092058",
                              contributors=(ContributorCredit("宮沢 賢治", "ミヤザワ ケンジ"),)).id
        # a readable file: a title nobody could read is never "available", whatever its licences
        session.add(BookFile(title_id=title_id, storage_key=f"books/{title_id}/{'0' * 64}.epub", sha256="0" * 64, size=1,
                             media_type="application/epub+zip"))
    eventually(lambda: "銀河鉄道の夜" in page(b, "宮沢賢治"))  # a patron searches on server B

    with rb.db.scope() as session:  # and changes it on server B
        title = session.get(Title, title_id)
        update_title(session, title, replace(title_data_of(title), title="銀河鉄道の朝", title_reading="ギンガ テツドウ ノ アサ"))
    eventually(lambda: found(a, "銀河鉄道の朝") == [title_id] and found(a, "夜") == [])

    assert found(a, "", availability="available") == []
    result = b.test_cli_runner().invoke(args=["licenses", "add", "9784101092058", "--model", "open"])  # CLI on B
    assert result.exit_code == 0, result.output
    eventually(lambda: found(a, "", availability="available") == [title_id])  # availability on A

    with ra.db.scope() as session:
        withdraw_title(session, session.get(Title, title_id))
    eventually(lambda: found(b, "銀河") == [] and found(a, "銀河") == [])

    def behind(rt) -> int:
        with rt.db.scope(write=False) as session:
            return indexing.lag(session, rt.search)["behind"]

    # each server's follower thread records its position after the index took the change: no lag once both caught up
    eventually(lambda: behind(ra) == 0 and behind(rb) == 0)
    assert b.test_client().get("/healthz").get_json()["checks"]["search"]["log"]["behind"] == 0


def test_a_new_server_builds_its_index_from_the_database(servers, tmp_path, database_url):
    a, _b = servers
    ra = a.extensions["elibrary"]
    with ra.db.scope() as session:
        title_id = make_title(session, title="風の又三郎", title_reading="カゼ ノ マタサブロウ").id
    eventually(lambda: found(a, "又三郎") == [title_id])
    (tmp_path / "server-c").mkdir()
    for key in ("secret_key", "data_key"):
        shutil.copy(tmp_path / "server-a" / key, tmp_path / "server-c" / key)
    third = create_app(make_test_config(tmp_path / "server-c", database_url, ELIBRARY_SEARCH_SYNC=False, ELIBRARY_SEARCH_POLL_SECONDS=0.2))
    try:
        third.test_client().get("/healthz")
        eventually(lambda: found(third, "又三郎") == [title_id])  # an empty index with no position: rebuilt
    finally:
        third.extensions["elibrary"].stop_following()
        third.extensions["elibrary"].db.dispose()


def test_an_index_too_far_behind_is_rebuilt(servers, monkeypatch):
    a, _b = servers
    ra = a.extensions["elibrary"]
    ra.indexer.stop()  # this worker stops following: the index falls behind
    with ra.db.scope() as session:
        ids = [make_title(session, title=f"海の本 第{n}巻").id for n in range(1, 4)]
    assert found(a, "海の本") == []
    rebuilt = []
    real = indexing._rebuild
    monkeypatch.setattr(indexing, "REBUILD_BEHIND", 2)
    monkeypatch.setattr(indexing, "_rebuild", lambda *args, **kw: rebuilt.append(True) or real(*args, **kw))
    ra.indexer.run_once()
    assert rebuilt == [True] and sorted(found(a, "海の本")) == ids
