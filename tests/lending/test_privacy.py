"""図書館の自由: after a loan ends nothing connects the patron to the title, unless they opted in."""
from __future__ import annotations

from sqlalchemy import select, text

from elibrary.db import Base
from elibrary.lending import services
from elibrary.lending.models import LendingEvent, ReadingHistoryEntry
from tests.lending.factories import make_licensed_title, make_patron


def rows_linking(session, patron_id: int, title_id: int) -> list[str]:
    """Every row in every table that holds both this patron's id and this title's id."""
    found = []
    for table in Base.metadata.sorted_tables:
        columns = table.columns.keys()
        if "patron_id" in columns and "title_id" in columns:
            count = session.execute(
                text(f'SELECT COUNT(*) FROM "{table.name}" WHERE patron_id = :p AND title_id = :t'), {"p": patron_id, "t": title_id}
            ).scalar()
            if count:
                found.append(table.name)
    return found


def test_after_return_no_row_connects_patron_and_title(db_session):
    title = make_licensed_title(db_session, "one-copy", None)
    patron, waiting = make_patron(db_session), make_patron(db_session)
    loan = services.borrow(db_session, patron, title.id)
    hold = services.place_hold(db_session, waiting, title.id)
    assert rows_linking(db_session, patron.id, title.id) == ["loans"]
    services.return_loan(db_session, patron, loan.id)
    assert rows_linking(db_session, patron.id, title.id) == []
    loan = services.borrow(db_session, waiting, title.id)  # the hold becomes a loan, then ends by expiry
    assert db_session.get(type(hold), hold.id) is None
    services.end_loan(db_session, loan, "expire", loan.due_at)
    assert rows_linking(db_session, waiting.id, title.id) == []
    # Statistics remain, de-identified: no column can hold a patron.
    events = db_session.scalars(select(LendingEvent).where(LendingEvent.title_id == title.id)).all()
    assert {e.kind for e in events} >= {"borrow", "return", "expire", "hold"}
    assert set(LendingEvent.__table__.columns.keys()) == {
        "id", "occurred_on", "kind", "title_id", "category", "age_band", "school", "loan_hours", "age", "grade", "license_id", "license_model",
        "channel", "borrower_key", "hour", "weekday", "from_hold", "ndc", "audience", "format"}
    # the only per-patron column is a keyed hash under a per-年度 key (erased when the 年度 closes), never the id
    assert all(e.borrower_key not in (None, str(patron.id), str(waiting.id)) and len(e.borrower_key) == 32 for e in events)


def test_opted_in_history_is_kept_and_can_be_deleted_or_switched_off(db_session):
    patron = make_patron(db_session)
    services.set_reading_history(db_session, patron, True)
    titles = [make_licensed_title(db_session) for _ in range(2)]
    for title in titles:
        loan = services.borrow(db_session, patron, title.id)
        services.return_loan(db_session, patron, loan.id)
    assert [e.title_id for e in services.reading_history(db_session, patron)] == [titles[1].id, titles[0].id]
    assert services.delete_reading_history(db_session, patron) == 2
    assert services.reading_history(db_session, patron) == []
    loan = services.borrow(db_session, patron, titles[0].id)
    services.return_loan(db_session, patron, loan.id)
    assert len(services.reading_history(db_session, patron)) == 1
    services.set_reading_history(db_session, patron, False)  # off deletes what was kept
    assert db_session.scalars(select(ReadingHistoryEntry).where(ReadingHistoryEntry.patron_id == patron.id)).all() == []
    loan = services.borrow(db_session, patron, titles[1].id)
    services.return_loan(db_session, patron, loan.id)
    assert rows_linking(db_session, patron.id, titles[1].id) == []
