"""Brute-force protection: per card+address pair, a slower per-card limit for unknown addresses, per
address (higher for school networks), below the ILS's own lock count; 429 with Retry-After; shared by
all workers."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from elibrary import create_app
from elibrary.db import utcnow
from elibrary.ils.base import InvalidCredentials
from elibrary.security.throttle import AttemptKeys, SignInThrottle, Throttle, ThrottlePolicy, TooManyAttempts
from tests.conftest import csrf_token_for

MESSAGE_WRONG = "利用者番号またはパスワードが正しくありません"
MESSAGE_LOCKED = "ログインの失敗が続いたため"


@pytest.fixture
def app_config(app_config):
    app_config.update(ELIBRARY_SIGNIN_PAIR_LIMIT=3, ELIBRARY_SIGNIN_CARD_LIMIT=5, ELIBRARY_SIGNIN_ADDRESS_LIMIT=6,
                      ELIBRARY_SCHOOL_NETWORKS="203.0.113.0/24", ELIBRARY_SIGNIN_SCHOOL_ADDRESS_LIMIT=50)
    return app_config


def attempt(client, card, pin, address="192.0.2.1"):
    token = csrf_token_for(client)
    client.post("/logout", data={"csrf_token": token}, environ_base={"REMOTE_ADDR": address})
    token = csrf_token_for(client)
    return client.post("/login", data={"card": card, "pin": pin, "csrf_token": token}, environ_base={"REMOTE_ADDR": address})


def end_locks(rt):
    with rt.db.scope() as session:
        session.execute(update(SignInThrottle).values(locked_until=utcnow() - timedelta(seconds=1)))


@pytest.mark.parametrize("card", ["20240001", "99999999"])  # a real card and an unknown one behave alike
def test_wrong_pins_lock_the_pair_with_retry_after_and_no_sleep(runner, client, rt, card):
    runner.invoke(args=["patrons", "add", "20240001", "--pin", "2468"])
    for _ in range(3):
        response = attempt(client, card, "0000")
        assert response.status_code == 401 and MESSAGE_WRONG in response.get_data(as_text=True)
    started = time.monotonic()
    locked = attempt(client, card, "2468")  # even the right PIN waits
    assert time.monotonic() - started < 2  # answered at once: a worker never sleeps for an attacker
    assert locked.status_code == 429 and MESSAGE_LOCKED in locked.get_data(as_text=True)
    assert 14 * 60 <= int(locked.headers["Retry-After"]) <= 15 * 60
    end_locks(rt)
    expected = 303 if card == "20240001" else 401
    assert attempt(client, card, "2468").status_code == expected


def test_after_a_lock_each_failure_locks_again_for_twice_as_long(runner, client, rt):
    for _ in range(3):
        attempt(client, "99999999", "0000")
    end_locks(rt)
    assert attempt(client, "99999999", "0000").status_code == 401  # one try after the lock...
    again = attempt(client, "99999999", "0000")
    assert again.status_code == 429 and 29 * 60 <= int(again.headers["Retry-After"]) <= 30 * 60  # ...then 30 minutes


def test_the_owner_gets_in_while_their_card_is_attacked(runner, client, rt):
    runner.invoke(args=["patrons", "add", "20240001", "--pin", "2468"])
    assert attempt(client, "20240001", "2468", address="192.0.2.10").status_code == 303  # the owner's home
    for i in range(5):  # an attacker from five addresses spends the card's budget for unknown addresses
        assert attempt(client, "20240001", f"00{i:02d}", address=f"198.51.100.{i}").status_code == 401
    stranger = attempt(client, "20240001", "2468", address="198.51.100.99")
    assert stranger.status_code == 429 and int(stranger.headers["Retry-After"]) > 50 * 60
    assert attempt(client, "20240001", "2468", address="192.0.2.10").status_code == 303  # the owner is not held


def test_one_address_trying_many_cards_is_limited_but_a_school_network_has_room(runner, client):
    runner.invoke(args=["patrons", "add", "20240001", "--pin", "2468"])
    for i in range(6):
        assert attempt(client, f"3000{i:04d}", "0000", address="198.51.100.7").status_code == 401
    assert attempt(client, "20240001", "2468", address="198.51.100.7").status_code == 429
    assert attempt(client, "20240001", "2468", address="198.51.100.8").status_code == 303  # another address is not affected
    for i in range(20):  # forty pupils behind one NAT at 9:00, with typos
        assert attempt(client, f"4000{i:04d}", "0000", address="203.0.113.5").status_code == 401
    assert attempt(client, "20240001", "2468", address="203.0.113.5").status_code == 303


def test_a_success_forgets_the_card_failures_but_not_the_address(runner, client, rt):
    runner.invoke(args=["patrons", "add", "20240001", "--pin", "2468"])
    attempt(client, "20240001", "0000")
    attempt(client, "20240001", "0000")
    assert attempt(client, "20240001", "2468").status_code == 303
    with rt.db.scope() as session:
        counts = {row.key.split(":")[0]: row.failures for row in session.scalars(select(SignInThrottle))}
    assert counts == {"pair": 0, "card": 0, "addr": 2}


def test_workers_share_the_counters(runner, client, app_config, rt):
    runner.invoke(args=["patrons", "add", "20240001", "--pin", "2468"])
    for _ in range(3):
        attempt(client, "20240001", "0000")
    other_worker = create_app(app_config)  # a second process would see the same database
    try:
        assert attempt(other_worker.test_client(), "20240001", "2468").status_code == 429
    finally:
        other_worker.extensions["elibrary"].db.dispose()


@pytest.fixture
def fake_ils_config(app_config):
    app_config.update(ELIBRARY_ILS="fake", ELIBRARY_ILS_LOCK_AFTER=5, ELIBRARY_SIGNIN_CARD_LIMIT=50, ELIBRARY_SIGNIN_PAIR_LIMIT=50,
                      ELIBRARY_SIGNIN_ADDRESS_LIMIT=500)
    return app_config


def test_failures_forwarded_to_the_ils_stay_below_its_lock_count(fake_ils_config, client, rt):
    rt.ils.add("40000001", "2468", category="citizen")
    seen = []
    authenticate = rt.ils.authenticate

    def counting(card, pin):
        try:
            return authenticate(card, pin)
        except InvalidCredentials:
            seen.append(card)
            raise

    rt.ils.authenticate = counting
    assert attempt(client, "40000001", "2468", address="192.0.2.10").status_code == 303  # the owner's known address
    statuses = [attempt(client, "40000001", "0000", address=f"198.51.100.{i}").status_code for i in range(10)]
    assert statuses[:2] == [401] * 2 and set(statuses[2:]) == {429}  # 5 - 1, less 2 kept for the owner's address
    assert attempt(client, "40000001", "1111", address="192.0.2.10").status_code == 401  # the owner's typos
    assert attempt(client, "40000001", "1112", address="192.0.2.10").status_code == 401
    assert attempt(client, "40000001", "2468", address="192.0.2.10").status_code == 429  # one more could lock the ILS
    assert len(seen) == 4 < 5


def test_concurrent_failures_are_all_counted(rt):
    throttle = Throttle(rt.db, ThrottlePolicy(pair_limit=1000, card_limit=1000))
    keys = AttemptKeys(pair="pair:shared", card="card:shared")
    errors = []

    def fail():
        try:
            for _ in range(5):
                throttle.record_failure(keys)
        except Exception as exc:  # asserted below
            errors.append(exc)

    threads = [threading.Thread(target=fail) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with rt.db.scope() as session:
        assert session.scalar(select(SignInThrottle.failures).where(SignInThrottle.key == "pair:shared")) == 20
    strict = Throttle(rt.db, ThrottlePolicy(pair_limit=3, card_limit=1000))
    strict.record_failure(keys)
    with pytest.raises(TooManyAttempts) as refused:
        strict.check(keys)
    assert 0 < int(refused.value.headers()["Retry-After"]) <= 15 * 60


def test_a_savepoint_inside_the_callers_transaction_does_not_fire_the_deferred_write(rt):
    """SQLAlchemy reports a released SAVEPOINT as a commit too: the count waits for the caller's real commit
    (writing at the savepoint would wait on the caller's own SQLite write lock)."""
    keys = rt.throttle.keys(rt.cipher, "card", "20240009", "192.0.2.9")
    with rt.db.scope() as caller:
        caller.scalar(select(func.count()).select_from(SignInThrottle))  # the caller's transaction has begun
        rt.throttle.record_failure(keys, caller=caller)
        with caller.begin_nested():
            pass  # e.g. linking a LINE user under a savepoint
        with rt.db.scope(write=False) as other:
            # SQLite: waits for the caller (its write lock); PostgreSQL: written at once in its own transaction
            assert other.scalar(select(func.count()).select_from(SignInThrottle)) == (0 if rt.db.is_sqlite else 3)
        caller.rollback()  # the sign-in failed: the request rolls back, the failure is still counted
    with rt.db.scope(write=False) as session:
        assert session.scalar(select(func.max(SignInThrottle.failures))) == 1
