"""The snippet rate limit (本文検索) is one budget for every worker and server: counted in the database."""
import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from elibrary import create_app
from elibrary.security.rate import RateCounter, RateLimit

START = datetime(2026, 12, 6, 0, 0, 0, tzinfo=timezone.utc)  # a window boundary for 600-second windows


def second_runtime(app_config):
    """Another application on the same database, as another gunicorn worker or server would be."""
    return create_app(app_config).extensions["elibrary"]


def limit_of(rt, count: int = 3) -> RateLimit:
    return RateLimit(rt.db, count, 600, rt.cipher.lookup_hash, "text")


def test_two_runtimes_on_one_database_share_the_budget(rt, app_config):
    other = second_runtime(app_config)
    try:
        assert rt.text_limit is not other.text_limit
        assert rt.text_limit.allow("user:7") and other.text_limit.allow("user:7")
        used = 2
        while other.text_limit.allow("user:7"):
            used += 1
        assert used == rt.text_limit.limit  # not twice the limit
        assert not rt.text_limit.allow("user:7") and not other.text_limit.allow("user:7")
        assert rt.text_limit.allow("user:8")  # another patron has their own budget
    finally:
        other.db.dispose()


def test_workers_racing_never_take_more_than_the_limit(rt, app_config):
    other = second_runtime(app_config)
    limits = [limit_of(rt, 5), limit_of(other, 5)]
    answers = []

    def search(n: int) -> None:
        answers.append(limits[n % 2].allow("client:abc", START))

    try:
        threads = [threading.Thread(target=search, args=(n,)) for n in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(answers) == [False] * 7 + [True] * 5
    finally:
        other.db.dispose()


def test_the_window_slides(rt):
    limit = limit_of(rt, 3)
    assert all(limit.allow("user:1", START + timedelta(seconds=s)) for s in (500, 510, 520))
    assert not limit.allow("user:1", START + timedelta(seconds=590))
    # 5 minutes into the next window half of the last one's uses still count: 1.5 + 0 < 3, then 1.5 + 1 < 3, then 1.5 + 2 >= 3
    at = START + timedelta(seconds=900)
    assert limit.allow("user:1", at) and limit.allow("user:1", at) and not limit.allow("user:1", at)
    assert limit.allow("user:1", START + timedelta(seconds=1800 + 590))  # two windows later it is all forgotten


def test_all_keys_must_allow_and_a_refusal_counts_nothing(rt):
    limit = limit_of(rt, 2)
    assert limit.allow_all({"address:a": 20, "client:x": 2}, START)
    assert limit.allow_all({"address:a": 20, "client:x": 2}, START)
    assert not limit.allow_all({"address:a": 20, "client:x": 2}, START)  # the session's budget is spent
    with rt.db.scope(write=False) as session:
        assert sorted(session.scalars(select(RateCounter.uses))) == [2, 2]  # the address was not charged for the refusal


def test_keys_are_stored_as_keyed_hashes(rt):
    limit = limit_of(rt)
    assert limit.allow("address:203.0.113.5", START) and limit.allow("user:4242", START)
    with rt.db.scope(write=False) as session:
        keys = list(session.scalars(select(RateCounter.key)))
    assert len(keys) == 2 and all(key.startswith("text:") for key in keys)
    assert not any("203.0.113" in key or "4242" in key for key in keys)


def test_a_caller_holding_the_write_lock_is_not_deadlocked(rt):
    limit = limit_of(rt, 1)
    caller = rt.db.session(write=True)
    try:
        caller.add(RateCounter(key="other:held", window_number=0, uses=0, previous_uses=0))
        caller.flush()  # on SQLite the caller now holds the write lock
        assert limit.allow("user:1", START, caller=caller)
        caller.commit()
    finally:
        caller.close()
    assert not limit.allow("user:1", START)  # the use was counted (after the caller's commit on SQLite)


def test_idle_counters_are_deleted(rt):
    limit = limit_of(rt)
    assert limit.allow("user:1", START)
    limit._purged_at = 0.0
    assert limit.allow("user:2", START + timedelta(seconds=1800))
    with rt.db.scope(write=False) as session:
        assert session.scalar(select(RateCounter.uses)) == 1 and len(list(session.scalars(select(RateCounter.id)))) == 1
