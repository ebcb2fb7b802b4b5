"""Brute-force protection: slow down, then lock, per card and per address, shared by all workers."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from elibrary import create_app
from elibrary.db import utcnow
from elibrary.security.throttle import SignInThrottle, Throttle, ThrottlePolicy, TooManyAttempts
from tests.conftest import csrf_token_for

MESSAGE_WRONG = "利用者番号またはパスワードが正しくありません"
MESSAGE_LOCKED = "ログインの失敗が続いたため"


@pytest.fixture
def app_config(app_config):
    app_config.update(ELIBRARY_SIGNIN_SLOW_AFTER=3, ELIBRARY_SIGNIN_LOCK_AFTER=5, ELIBRARY_SIGNIN_ADDRESS_SLOW_AFTER=4, ELIBRARY_SIGNIN_ADDRESS_LOCK_AFTER=50)
    return app_config


def attempt(client, card, pin, address="192.0.2.1"):
    token = csrf_token_for(client)
    return client.post("/login", data={"card": card, "pin": pin, "csrf_token": token}, environ_base={"REMOTE_ADDR": address})


def let_time_pass(rt, seconds):
    with rt.db.scope() as session:
        for row in session.scalars(select(SignInThrottle)):
            row.last_failure_at = row.last_failure_at - timedelta(seconds=seconds) if row.last_failure_at else None


@pytest.mark.parametrize("card", ["20240001", "99999999"])  # a real card and an unknown one behave alike
def test_wrong_pins_slow_down_then_lock_the_card(runner, client, rt, card):
    runner.invoke(args=["patrons", "add", "20240001", "--pin", "2468"])
    statuses = []
    for _ in range(3):
        response = attempt(client, card, "0000")
        statuses.append(response.status_code)
        assert MESSAGE_WRONG in response.get_data(as_text=True)
    too_soon = attempt(client, card, "2468")
    assert statuses == [401, 401, 401] and too_soon.status_code == 429
    assert MESSAGE_LOCKED in too_soon.get_data(as_text=True)
    for _ in range(2):  # waiting out the delay lets one more try in each time
        let_time_pass(rt, 60)
        assert attempt(client, card, "0000").status_code == 401
    let_time_pass(rt, 60)
    locked = attempt(client, card, "2468")  # the fifth failure locked the card: even the right PIN waits
    assert locked.status_code == 429 and MESSAGE_LOCKED in locked.get_data(as_text=True)
    with rt.db.scope() as session:  # after the lock period, the right PIN works again
        session.execute(update(SignInThrottle).values(locked_until=utcnow() - timedelta(seconds=1)))
    expected = 303 if card == "20240001" else 401
    assert attempt(client, card, "2468").status_code == expected


def test_many_cards_from_one_address_are_slowed_down(runner, client):
    runner.invoke(args=["patrons", "add", "20240001", "--pin", "2468"])
    for i in range(4):
        assert attempt(client, f"3000{i:04d}", "0000", address="198.51.100.7").status_code == 401
    assert attempt(client, "20240001", "2468", address="198.51.100.7").status_code == 429
    assert attempt(client, "20240001", "2468", address="198.51.100.8").status_code == 303  # another address is not affected


def test_a_success_forgets_the_card_failures(runner, client, rt):
    runner.invoke(args=["patrons", "add", "20240001", "--pin", "2468"])
    attempt(client, "20240001", "0000")
    attempt(client, "20240001", "0000")
    assert attempt(client, "20240001", "2468").status_code == 303
    with rt.db.scope() as session:
        counts = {row.key.split(":")[0]: row.failures for row in session.scalars(select(SignInThrottle))}
    assert counts == {"card": 0, "addr": 2}


def test_workers_share_the_counters(runner, client, app_config, rt):
    runner.invoke(args=["patrons", "add", "20240001", "--pin", "2468"])
    for _ in range(3):
        attempt(client, "20240001", "0000")
    other_worker = create_app(app_config)  # a second process would see the same database
    try:
        assert attempt(other_worker.test_client(), "20240001", "2468").status_code == 429
    finally:
        other_worker.extensions["elibrary"].db.dispose()


def test_concurrent_failures_are_all_counted(rt):
    throttle = Throttle(rt.db, ThrottlePolicy(lock_after=1000, slow_after=1000))
    errors = []

    def fail():
        try:
            for _ in range(5):
                throttle.record_failure(["card:shared"])
        except Exception as exc:  # asserted below
            errors.append(exc)

    threads = [threading.Thread(target=fail) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with rt.db.scope() as session:
        assert session.scalar(select(SignInThrottle.failures).where(SignInThrottle.key == "card:shared")) == 20
    with pytest.raises(TooManyAttempts):
        Throttle(rt.db, ThrottlePolicy(slow_after=3)).check(["card:shared"])
