"""Licence renewal advice and the collection balance charts."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from elibrary.lending import services as lending
from elibrary.lending.models import Hold
from elibrary.selection import advice, balance
from elibrary.selection.models import LicenseCost
from tests.lending.factories import make_patron, make_title
from tests.selection.factories import make_offer, make_staff


def test_an_expiring_licence_is_listed_with_its_cost_per_loan_and_a_renewal_offer(db_session):
    staff = make_staff(db_session)
    now = datetime.now(timezone.utc)
    title = make_title(db_session, title="森のうた", isbn="9784990000042")
    licence = lending.add_license(db_session, title.id, "metered-time", copies=1, loans=26, until=now + timedelta(days=20))
    db_session.add(LicenseCost(license_id=licence.id, price=2_000, tax=200))
    for _ in range(4):
        patron = make_patron(db_session)
        loan = lending.borrow(db_session, patron, title.id)
        lending.return_loan(db_session, patron, loan.id)
    renewal = make_offer(db_session, isbn="9784990000042", title="森のうた", model="metered-time", loans=26, term_months=24, price=2_200)
    quiet = make_title(db_session, title="だれも借りない本")
    old = lending.add_license(db_session, quiet.id, "one-copy")
    old.created_at = now - timedelta(days=400)
    db_session.flush()
    rows = {row.title.title: row for row in advice.licence_advice(db_session, staff, days=30)}
    row = rows["森のうた"]
    assert (row.loans, row.cost, row.cost_per_loan, row.holds) == (4, 2_200, 550, 0)
    assert row.reasons[0].startswith("期限") and "更新" in row.advice_ja and row.offer.id == renewal.id
    assert rows["だれも借りない本"].advice_ja.startswith("貸出がありません") and rows["だれも借りない本"].cost_per_loan is None


def test_long_waits_advise_another_copy(db_session):
    staff = make_staff(db_session)
    title = make_title(db_session, title="人気の本", isbn="9784990000059")
    lending.add_license(db_session, title.id, "one-copy")
    lending.borrow(db_session, make_patron(db_session), title.id)
    for _ in range(4):
        lending.place_hold(db_session, make_patron(db_session), title.id)
    assert db_session.query(Hold).count() == 4
    make_offer(db_session, isbn="9784990000059", title="人気の本", price=1_600)
    row = next(r for r in advice.licence_advice(db_session, staff) if r.title.id == title.id)
    assert row.holds == 4 and "もう1点購入" in row.advice_ja and row.offer is not None


def test_balance_charts_compare_collection_purchases_and_targets(db_session):
    staff = make_staff(db_session)
    make_title(db_session, title="a", ndc="913.6")
    make_title(db_session, title="b", ndc="913.6")
    make_title(db_session, title="c", ndc="410")
    made = balance.balance_charts(db_session, staff, 2027, {"ELIBRARY_SELECTION_TARGETS": {"ndc": {"9": 40, "4": 20}}})
    ndc = made[0]
    rows = {row[0]: row[1:] for row in ndc.rows()}
    assert rows["9 文学"] == ["66.7", "0", "40"] and rows["4 自然科学"] == ["33.3", "0", "20"]
    assert [s.name for s in ndc.series] == ["蔵書", "今年度の購入", "目標"] and len(made) == 3
