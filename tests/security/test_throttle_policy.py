"""The throttle's arithmetic (elibrary/security/throttle.py): a 4-digit PIN stays unguessable for a year,
and our failures stay below the ILS's own lock count. Pure: the rules run on plain objects, no database."""
from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from elibrary.security.throttle import AttemptKeys, Rules, ThrottlePolicy, max_guesses_per_year

START = datetime(2026, 4, 1, tzinfo=timezone.utc)
YEAR = timedelta(days=365)
PINS = 10_000


def new_rows():
    return defaultdict(lambda: SimpleNamespace(failures=0, locks=0, last_failure_at=None, locked_until=None, succeeded_at=None))


def attack(rules: Rules, keys_for_try, *, wait_after: int | None = None) -> int:
    """Fail at every moment the rules allow for a year; with ``wait_after``, go quiet for the forgetting
    period after that many tries in a row (the other strategy). Returns the number of guesses made."""
    rows, now, guesses, streak = new_rows(), START, 0, 0
    forget = timedelta(days=rules.policy.forget_days, minutes=1)
    while now < START + YEAR:
        keys = keys_for_try(guesses)
        until = rules.refusal(keys, rows, now)
        if until is not None:
            now = until
            continue
        rules.fail(keys, rows, now)
        guesses += 1
        streak += 1
        if wait_after is not None and streak >= wait_after:
            now, streak = now + forget, 0
        now += timedelta(seconds=1)
    return guesses


def from_fresh_addresses(i: int) -> AttemptKeys:
    return AttemptKeys(pair=f"pair:{i}", card="card:target", address=f"addr:{i}")


def test_the_bound_is_under_a_tenth_of_the_pins():
    policy = ThrottlePolicy()
    assert max_guesses_per_year(policy) < PINS / 10  # even with the owner's own address
    assert max_guesses_per_year(policy, known_address=False) < PINS / 20
    assert max_guesses_per_year(ThrottlePolicy(card_limit=50, card_lock_minutes=1)) > PINS / 10  # the sum can fail


@pytest.mark.parametrize("wait_after", [None, 5, 8, 10, 12])
def test_an_attacker_from_fresh_addresses_stays_within_the_bound(wait_after):
    policy = ThrottlePolicy()
    guesses = attack(Rules(policy), from_fresh_addresses, wait_after=wait_after)
    assert guesses <= max_guesses_per_year(policy, known_address=False)
    assert guesses < PINS / 20


@pytest.mark.parametrize("wait_after", [None, 5, 12])
def test_an_attacker_on_the_owners_own_network_stays_within_the_bound(wait_after):
    policy = ThrottlePolicy()
    rules = Rules(policy)
    owner = AttemptKeys(pair="pair:home", card="card:target", address="addr:home")
    rows = new_rows()
    rules.succeed(owner, rows, START - timedelta(days=1))  # the owner signed in from home yesterday

    guesses, now, streak = 0, START, 0
    while now < START + YEAR:
        until = rules.refusal(owner, rows, now)
        if until is not None:
            now = until
            continue
        rules.fail(owner, rows, now)
        guesses, streak = guesses + 1, streak + 1
        if wait_after and streak >= wait_after:
            now, streak = now + timedelta(days=policy.forget_days, minutes=1), 0
        now += timedelta(seconds=1)
    fresh = attack(rules, from_fresh_addresses)
    assert guesses + fresh < max_guesses_per_year(policy) < PINS / 10


def test_the_ils_never_sees_its_lock_count():
    """A model ILS locks a card after ``lock_after`` failures it remembers for ``ils_lock_minutes``.
    Attackers from everywhere and the owner's typos, in random order for a week, never lock it."""
    policy = ThrottlePolicy(ils_lock_after=5, ils_lock_minutes=30, card_limit=50, pair_limit=50, address_limit=10_000)
    rules, rows, rng = Rules(policy), new_rows(), random.Random(11)
    home = AttemptKeys(pair="pair:home", card="card:c", address="addr:home", ils="ils:c")
    rules.succeed(home, rows, START - timedelta(days=1))
    ils_failures: list[datetime] = []
    now, owner_in = START, 0
    while now < START + timedelta(days=7):
        now += timedelta(seconds=rng.randint(1, 120))
        owner = rng.random() < 0.1
        keys = home if owner else AttemptKeys(pair=f"pair:{now}", card="card:c", address=f"addr:{now}", ils="ils:c")
        if rules.refusal(keys, rows, now) is not None:
            continue
        if owner and rng.random() < 0.5:  # the owner types the right PIN: the ILS forgets its failures
            rules.succeed(keys, rows, now)
            ils_failures.clear()
            owner_in += 1
            continue
        rules.fail(keys, rows, now)
        ils_failures[:] = [t for t in ils_failures if now - t < timedelta(minutes=policy.ils_lock_minutes)] + [now]
        assert len(ils_failures) < policy.ils_lock_after
    assert owner_in > 0  # and the owner got in during the attack
