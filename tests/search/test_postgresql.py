"""``ELIBRARY_SEARCH=postgresql`` through the application: rows written in the title's own transaction.

The contract suite (``test_contract.py`` and the others) holds the backend to the same answers as
Whoosh; these tests check what only this backend promises: one index for every app server, changed
with the commit that changes the title (and not at all when it rolls back), availability included.
"""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select, text

from elibrary import create_app
from elibrary.catalog.models import SearchQueueEntry, Title
from elibrary.catalog.services import withdraw_title
from elibrary.lending import services as lending
from elibrary.patrons.services import add_local_patron
from elibrary.search.base import SearchQuery
from elibrary.search.postgresql import PostgresSearch
from tests.catalog.factories import make_title
from tests.lending.factories import make_title as make_readable_title


@pytest.fixture
def app_config(app_config, engine_name):
    if engine_name != "postgresql":
        pytest.skip("the PostgreSQL search backend needs PostgreSQL")
    return {**app_config, "ELIBRARY_SEARCH": "postgresql"}


@pytest.fixture(autouse=True)
def _empty_index(app_config):
    yield
    engine = create_engine(app_config["ELIBRARY_DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE search_documents, search_terms"))
    engine.dispose()


@pytest.fixture
def other_server(app_config, rt, tmp_path):
    """A second app server: an instance folder of its own, the same database (and so the same index)."""
    other = create_app({**app_config, "ELIBRARY_INSTANCE_PATH": str(tmp_path / "other")})
    yield other.extensions["elibrary"]
    other.extensions["elibrary"].db.dispose()
    other.extensions["elibrary"].search.close()


def found(runtime, text_, **filters) -> list[int]:
    return runtime.search.search(SearchQuery(text=text_, filters=filters)).ids


def test_a_title_is_searchable_on_every_server_when_its_transaction_commits(rt, other_server):
    assert isinstance(other_server.search, PostgresSearch)
    with rt.db.scope() as session:
        title_id = make_title(session, title="銀河鐵道の夜", title_reading="ギンガ テツドウ ノ ヨル").id
        session.flush()
        assert found(other_server, "銀河鉄道") == []  # not before the commit
    for query in ("銀河鉄道", "ぎんがてつどう", "ginga"):
        assert found(other_server, query) == [title_id], query
    with rt.db.scope() as session:
        assert session.scalar(select(func.count()).select_from(SearchQueueEntry)) == 0  # no change log to follow

    with other_server.db.scope() as session:
        withdraw_title(session, session.get(Title, title_id))
    assert found(rt, "銀河鉄道") == []


def test_a_rolled_back_title_never_reaches_the_index(rt, other_server):
    with pytest.raises(RuntimeError), rt.db.scope() as session:
        make_title(session, title="幻の本")
        session.flush()
        raise RuntimeError("the request failed")
    assert found(other_server, "幻の本") == []
    assert other_server.search.status()["documents"] == 0


def test_availability_follows_loans_in_the_same_transaction(rt, other_server):
    with rt.db.scope() as session:
        title_id = make_readable_title(session, title="ひとつだけの本").id  # with a book file: only then lendable
        lending.add_license(session, title_id, "one-copy", copies=1)
        patron = add_local_patron(session, rt.cipher, "5001", "pin-5001")
    assert found(other_server, "ひとつだけ", availability="available") == [title_id]
    with rt.db.scope() as session:
        loan = lending.borrow(session, session.merge(patron), title_id)
    assert found(other_server, "ひとつだけ", availability="available") == []
    assert found(other_server, "ひとつだけ", availability="unavailable") == [title_id]
    with rt.db.scope() as session:
        lending.return_loan(session, session.merge(patron), loan.id)
    assert found(other_server, "ひとつだけ", availability="available") == [title_id]


def test_a_server_finding_the_index_empty_builds_it(rt, app_config, tmp_path):
    with rt.db.scope() as session:
        title_id = make_title(session, title="あとから来た索引").id
    engine = create_engine(app_config["ELIBRARY_DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE search_documents"))  # a database from before ELIBRARY_SEARCH=postgresql
    engine.dispose()
    newcomer = create_app({**app_config, "ELIBRARY_INSTANCE_PATH": str(tmp_path / "new")}).extensions["elibrary"]
    assert newcomer.indexer.run_once() == 1
    assert found(newcomer, "索引") == [title_id]
    assert newcomer.indexer.lag(None) == {"in_transaction": True, "behind": 0}
    newcomer.db.dispose()
    newcomer.search.close()


def test_the_book_text_index_follows_files_licences_and_withdrawals_beside_it(rt):
    """本文検索 follows the change log, which this backend writes only for what the book-text index must see."""
    import io

    from elibrary.catalog.files import attach_book_file
    from elibrary.catalog.text_search import search_text
    from tests.books.factories import text_epub

    def text_hits() -> list[int]:
        with rt.db.scope(write=False) as session:
            return [m.title.id for m in search_text(session, rt.booktext, rt.text_indexer.searchable, "きつねの手ぶくろ")]

    with rt.db.scope() as session:
        title = make_title(session, title="手ぶくろを買いに")
        attach_book_file(session, rt.storage, title, io.BytesIO(text_epub("<p>子ぎつねの手ぶくろ。きつねの手ぶくろ。</p>")), "application/epub+zip")
        title_id = title.id
    assert text_hits() == []  # no licence yet
    with rt.db.scope() as session:
        lending.add_license(session, title_id, "open")
    assert text_hits() == [title_id]
    with rt.db.scope() as session:
        withdraw_title(session, session.get(Title, title_id))
    assert text_hits() == [] and rt.booktext.sources([title_id]) == {}


def test_loans_write_the_change_log_only_when_a_licence_changes(rt):
    """The catalog's index is written in the loan's transaction; the book-text index follows licences, so a loan
    spending a metered licence's last loan is logged (its text stops being searchable) and other loans are not."""
    import io

    from elibrary.catalog.files import attach_book_file
    from tests.books.factories import text_epub

    def log_entries() -> int:
        with rt.db.scope(write=False) as session:
            return session.scalar(select(func.count()).select_from(SearchQueueEntry))

    with rt.db.scope() as session:
        unmetered = make_readable_title(session, title="いつでも借りられる本").id
        lending.add_license(session, unmetered, "concurrent", copies=2)
        metered = make_title(session, title="一度だけの本")
        attach_book_file(session, rt.storage, metered, io.BytesIO(text_epub("<p>たった一度だけ読める物語。</p>")), "application/epub+zip")
        metered = metered.id
        lending.add_license(session, metered, "metered-loans", copies=1, loans=1, text_search=True)
        patron = add_local_patron(session, rt.cipher, "5002", "pin-5002")
    rt.text_indexer.run_once()
    assert rt.booktext.sources([metered]) != {}
    before = log_entries()
    with rt.db.scope() as session:
        loan = lending.borrow(session, session.merge(patron), unmetered)
    with rt.db.scope() as session:
        lending.return_loan(session, session.merge(patron), loan.id)
    assert log_entries() == before  # availability alone: nothing for the book-text index
    with rt.db.scope() as session:
        lending.borrow(session, session.merge(patron), metered)
    assert log_entries() == before + 1
    rt.text_indexer.run_once()
    assert rt.booktext.sources([metered]) == {}  # its only loan spent, the licence lends no more: its text is not searchable


def _indexed_availability(rt, title_ids: list[int]) -> dict[int, bool]:
    with rt.db.scope(write=False) as session:
        rows = session.execute(text("SELECT title_id, available FROM search_documents WHERE title_id = ANY(:ids)"), {"ids": title_ids})
        return dict(rows.all())


def _true_availability(rt, title_ids: list[int], now) -> dict[int, bool]:
    from elibrary.lending.availability import availability

    with rt.db.scope(write=False) as session:
        return {title_id: availability(session, title_id, now=now).available for title_id in title_ids}


def test_the_index_says_what_the_title_page_says_after_every_lending_transaction(rt):
    """Borrow and return tell the index the availability they decided (no second read); a random run of loans,
    returns, holds and expiries, each committed, keeps the index's column equal to the title page's answer."""
    import random
    from datetime import timedelta

    from elibrary.db import utcnow
    from elibrary.errors import DomainError
    from elibrary.lending import jobs
    from elibrary.lending.models import Hold, HoldState, LendingEvent, Loan
    from elibrary.patrons.models import Patron
    from tests.lending.factories import make_patron

    now = utcnow()
    with rt.db.scope() as session:
        titles = [make_readable_title(session, title=f"在庫の本 {n}").id for n in range(4)]
        lending.add_license(session, titles[0], "one-copy", now=now)
        lending.add_license(session, titles[1], "concurrent", copies=2, now=now)
        lending.add_license(session, titles[2], "metered-loans", copies=2, loans=5, now=now)
        # a term longer than the run: the index reads availability at the real time, the run moves its own clock
        lending.add_license(session, titles[3], "metered-time", copies=1, until=now + timedelta(days=365), now=now)
        lending.add_license(session, titles[3], "one-copy", now=now)
        patrons = [make_patron(session).id for _ in range(5)]
    rng = random.Random(18)
    for step in range(160):
        action = rng.choice(["borrow", "borrow", "return", "hold", "collect", "cancel", "time"])
        patron_id, title_id = rng.choice(patrons), rng.choice(titles)
        try:
            with rt.db.scope() as session:
                patron = session.get(Patron, patron_id)
                if action == "borrow":
                    lending.borrow(session, patron, title_id, now=now)
                elif action == "return" and (loans := session.scalars(select(Loan).order_by(Loan.id)).all()):
                    loan = rng.choice(loans)  # any current loan, returned by its borrower
                    lending.return_loan(session, session.get(Patron, loan.patron_id), loan.id, now=now)
                elif action == "collect" and (ready := session.scalars(select(Hold).where(Hold.state == HoldState.ready).order_by(Hold.id)).all()):
                    hold = rng.choice(ready)  # the patron whose hold is ready borrows the copy kept for them
                    lending.borrow(session, session.get(Patron, hold.patron_id), hold.title_id, now=now)
                elif action == "hold":
                    lending.place_hold(session, patron, title_id, now=now)
                elif action == "cancel" and (hold := session.scalar(select(Hold).where(Hold.patron_id == patron_id, Hold.title_id == title_id))):
                    lending.cancel_hold(session, patron, hold.id, now=now)
        except DomainError:
            pass
        if action == "time":  # time passes and the scheduled pass runs: loans expire
            now += timedelta(days=rng.choice([1, 3, 8]))
            assert jobs.run_pass(rt.db, rt.cipher, now=now).ran
        assert _indexed_availability(rt, titles) == _true_availability(rt, titles, now), (step, action, patron_id, title_id)
    with rt.db.scope(write=False) as session:  # the run went through the paths it is for
        kinds = dict(session.execute(select(LendingEvent.kind, func.count()).group_by(LendingEvent.kind)).all())
        from_holds = session.scalar(select(func.count()).select_from(LendingEvent).where(LendingEvent.kind == "borrow", LendingEvent.from_hold))
    assert kinds.get("borrow", 0) > 20 and kinds.get("return", 0) > 10 and kinds.get("expire", 0) > 0 and kinds.get("hold", 0) > 0, kinds
    assert from_holds > 0  # a borrow of the copy a ready hold kept


def test_a_savepoint_rolled_back_after_a_return_leaves_the_index_right(rt):
    """What a statement told the index inside a savepoint that rolls back is not trusted at the commit."""
    from tests.lending.factories import make_patron

    with rt.db.scope() as session:
        title_id = make_readable_title(session, title="戻された本").id
        lending.add_license(session, title_id, "one-copy")
        first, second = make_patron(session), make_patron(session)
        loan_id = lending.borrow(session, first, title_id).id
    assert _indexed_availability(rt, [title_id]) == {title_id: False}
    with rt.db.scope() as session:
        lending.return_loan(session, session.merge(first), loan_id)  # free now: the commit must say so
        savepoint = session.begin_nested()
        lending.borrow(session, session.merge(second), title_id)  # the borrow writes "unavailable" into the index ...
        savepoint.rollback()  # ... and the savepoint takes the loan and that write back
    assert _indexed_availability(rt, [title_id]) == {title_id: True} == _true_availability(rt, [title_id], None)


def test_a_licence_ending_with_the_clock_reaches_the_index_with_the_next_scheduled_pass(rt):
    """No row changes when a term ends; the lending pass tells the index, once for each licence that ended since the last pass."""
    from datetime import timedelta

    from elibrary.db import utcnow
    from elibrary.lending import jobs
    from elibrary.lending.models import License

    with rt.db.scope() as session:
        title_id = make_readable_title(session, title="期限のある本").id
        license_id = lending.add_license(session, title_id, "metered-time", copies=1, until=utcnow() + timedelta(days=30)).id
    assert _indexed_availability(rt, [title_id]) == {title_id: True}
    engine = create_engine(rt.db.url)
    with engine.begin() as conn:  # the term ends: the clock moves past it (no application code runs)
        conn.execute(License.__table__.update().where(License.__table__.c.id == license_id).values(valid_until=utcnow() - timedelta(minutes=1)))
    engine.dispose()
    assert _indexed_availability(rt, [title_id]) == {title_id: True}  # still shown as free ...
    assert jobs.run_pass(rt.db, rt.cipher).ran
    assert _indexed_availability(rt, [title_id]) == {title_id: False} == _true_availability(rt, [title_id], None)  # ... until the pass


def test_collecting_a_kept_copy_leaves_the_other_copy_shown_free(rt):
    """A borrow from a ready hold ends the hold's reservation as it adds the loan: the title's other copy stays free."""
    from tests.lending.factories import make_patron

    with rt.db.scope() as session:
        title_id = make_readable_title(session, title="二冊の本").id
        lending.add_license(session, title_id, "concurrent", copies=2)
        first, second, waiting = make_patron(session), make_patron(session), make_patron(session)
        loans = [lending.borrow(session, first, title_id).id, lending.borrow(session, second, title_id).id]
        lending.place_hold(session, waiting, title_id)
    for patron, loan_id in ((first, loans[0]), (second, loans[1])):  # the first copy back is kept for the hold, the second is free
        with rt.db.scope() as session:
            lending.return_loan(session, session.merge(patron), loan_id)
    assert _indexed_availability(rt, [title_id]) == {title_id: True}
    with rt.db.scope() as session:
        lending.borrow(session, session.merge(waiting), title_id)
    assert _indexed_availability(rt, [title_id]) == {title_id: True} == _true_availability(rt, [title_id], None)
