"""The wiring room is real: two runtimes on two databases in one process share no hook, listener or cache."""
from __future__ import annotations

import shutil

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from elibrary.catalog.models import Title
from elibrary.db import hooks_of
from elibrary.lending import loan_rows, services
from elibrary.lending.models import Loan
from elibrary.patrons.models import Patron
from elibrary.search.base import SearchQuery
from elibrary.wiring import build_runtime, instance_settings
from readers import services as reading_positions
from readers.models import ReadingPosition
from tests.conftest import make_test_config
from tests.lending.factories import make_licensed_title, make_patron


def _runtime(instance, url):
    return build_runtime(instance_settings(str(instance), make_test_config(instance, url, ELIBRARY_SEARCH="memory", ELIBRARY_STORAGE="memory"), environ={}))


@pytest.fixture
def two(tmp_path, database_url, sqlite_template):
    """Runtime A on the test's database (SQLite or PostgreSQL), runtime B on a second SQLite database."""
    other = tmp_path / "other.db"
    shutil.copyfile(sqlite_template, other)
    a = _runtime(tmp_path / "a", database_url)
    b = _runtime(tmp_path / "b", f"sqlite:///{other}")
    yield a, b
    a.db.dispose()
    b.db.dispose()


def _loan_with_position(rt) -> int:
    with rt.db.scope() as session:
        title = make_licensed_title(session, "concurrent", 1)
        loan = services.borrow(session, make_patron(session), title.id)
        session.add(ReadingPosition(patron_id=loan.patron_id, title_id=title.id, loan_id=loan.id, location="epubcfi(/6/4)", fraction=0.5,
                                    bookmarks=[], revision=1))
        return loan.id


def _end(rt, loan_id: int) -> None:
    with rt.db.scope() as session:
        loan = session.get(Loan, loan_id)
        services.return_loan(session, session.get(Patron, loan.patron_id), loan_id)


def _count(rt, model) -> int:
    with rt.db.scope(write=False) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_loan_ended_on_one_database_fires_only_that_runtimes_hooks(two):
    a, b = two
    heard_a, heard_b = [], []
    a.db.hooks.add(loan_rows.LOAN_END, lambda loan: heard_a.append(loan.id))
    b.db.hooks.add(loan_rows.LOAN_END, lambda loan: heard_b.append(loan.id))
    loan_a, loan_b = _loan_with_position(a), _loan_with_position(b)

    _end(a, loan_a)
    assert heard_a == [loan_a] and heard_b == []
    assert _count(a, ReadingPosition) == 0  # the readers' hook, wired to A, erased A's position ...
    assert _count(b, ReadingPosition) == 1  # ... and B's loan and position are untouched

    _end(b, loan_b)
    assert heard_a == [loan_a] and heard_b == [loan_b]
    assert _count(b, ReadingPosition) == 0


def test_hooks_live_on_each_database_not_in_module_globals(two):
    a, b = two
    assert not hasattr(loan_rows, "LOAN_END_HOOKS")
    assert a.db.hooks is not b.db.hooks
    assert a.db.hooks.get(loan_rows.LOAN_END) == (reading_positions.forget_position_of_ended_loan,)
    with Session(bind=a.db.engine) as outsider:  # a session not made by a runtime's factory hears nothing
        assert hooks_of(outsider, loan_rows.LOAN_END) == ()


def test_a_flush_on_one_database_triggers_nothing_of_the_other(two):
    a, b = two
    listener = reading_positions.forget_kept_positions_when_history_is_switched_off
    assert event.contains(a.db.factory, "before_flush", listener) and event.contains(b.db.factory, "before_flush", listener)
    assert not event.contains(Session, "before_flush", listener)  # never on SQLAlchemy's global class
    flushed_a = []
    event.listen(a.db.factory, "before_flush", lambda session, context, instances: flushed_a.append(session))
    with b.db.scope() as session:
        session.add(Title(title="Bだけの本"))
        session.flush()
    assert flushed_a == []
    with a.db.scope() as session:
        session.add(Title(title="Aの本"))
        session.flush()
    assert len(flushed_a) == 1


def test_switching_the_history_off_erases_kept_positions_per_database(two):
    a, b = two
    for rt in two:
        with rt.db.scope() as session:
            patron = make_patron(session, keep_reading_history=True)
            title = make_licensed_title(session, "concurrent", 1)
            session.add(ReadingPosition(patron_id=patron.id, title_id=title.id, loan_id=None, location="x", fraction=0.1, bookmarks=[], revision=1))
    with a.db.scope() as session:
        session.scalar(select(Patron)).keep_reading_history = False
    assert _count(a, ReadingPosition) == 0
    assert _count(b, ReadingPosition) == 1


def test_caches_backends_and_after_commit_tasks_are_per_runtime(two):
    a, b = two
    assert a.indexer is not b.indexer and a.indexer.enrichers is not b.indexer.enrichers
    assert a.search is not b.search and a.jobs is not b.jobs and a.scheduler is not b.scheduler
    assert a.accounts is not b.accounts and a.ils is a.accounts  # ELIBRARY_ILS = "local": the patrons' own store
    a.opds.credentials.put("card-and-pin-hash", 7, "pin-hash")  # OPDS caches are the runtime's own
    assert a.opds.credentials.get("card-and-pin-hash").patron_id == 7 and b.opds.credentials.get("card-and-pin-hash") is None
    a.opds.counts.get("titles", lambda: 5)
    assert b.opds.counts.get("titles", lambda: 9) == 9
    with b.db.scope() as session:
        session.add(Title(title="銀河鉄道の夜"))
    # B's commit kicked B's indexer only (synchronous in tests): A's search index never saw the title
    assert len(b.search.search(SearchQuery(text="銀河鉄道")).ids) == 1
    assert a.search.search(SearchQuery(text="銀河鉄道")).ids == []
