"""No double registration under concurrent attempts: the unique constraints decide, on SQLite and PostgreSQL."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from elibrary.errors import Conflict
from elibrary.line import linking
from elibrary.line.models import LineLink
from elibrary.patrons.models import Patron
from elibrary.patrons.services import add_local_patron


def _patrons(rt, *cards):
    with rt.db.scope() as session:
        return [add_local_patron(session, rt.cipher, card, "pass-1234").id for card in cards]


def _race(rt, attempts):
    """Run each (patron_id, line_user) attempt in its own thread and transaction, all released at once."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(patron_id, line_user):
        barrier.wait(timeout=10)  # before the transaction: SQLite's write lock is taken when it begins
        try:
            with rt.db.scope() as session:
                patron = session.get(Patron, patron_id)
                linking.link(session, rt.cipher, patron, line_user)
            result = "linked"
        except Conflict as exc:
            result = exc.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=a) for a in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(outcomes)


@pytest.mark.parametrize("rounds", [3])
def test_one_line_user_two_cards_at_once(rt, rounds):
    for n in range(rounds):
        first, second = _patrons(rt, f"2000{n}1", f"2000{n}2")
        user = f"U{n:032x}"
        assert _race(rt, [(first, user), (second, user)]) == ["line-already-linked", "linked"]
    with rt.db.scope(write=False) as session:
        assert session.scalar(select(func.count()).select_from(LineLink)) == rounds


def test_one_card_two_line_users_at_once(rt):
    (patron,) = _patrons(rt, "30001")
    outcomes = _race(rt, [(patron, "U" + "a" * 32), (patron, "U" + "b" * 32), (patron, "U" + "c" * 32)])
    assert outcomes.count("linked") == 1
    assert set(outcomes) - {"linked"} <= {"card-already-linked", "line-already-linked"}
    with rt.db.scope(write=False) as session:
        assert session.scalar(select(func.count()).select_from(LineLink)) == 1


def test_the_constraints_alone_stop_a_double_link(rt, monkeypatch):
    """Without the friendly pre-check, the database still lets only one attempt win."""
    monkeypatch.setattr(linking, "_refuse_existing", lambda *args: None)
    first, second = _patrons(rt, "40001", "40002")
    assert _race(rt, [(first, "U" + "d" * 32), (second, "U" + "d" * 32)]) == ["line-already-linked", "linked"]
    (third,) = _patrons(rt, "40003")
    assert _race(rt, [(third, "U" + "e" * 32), (third, "U" + "f" * 32)]) == ["line-already-linked", "linked"]
