"""Demo licences through the demo loader's hook, and ``elibrary licenses add``."""
from __future__ import annotations

from sqlalchemy import func, select

from elibrary.lending import services
from elibrary.lending.models import Hold, License, LicenseModel, Loan
from tests.lending.factories import make_title


def test_demo_shows_every_licence_model_and_a_waitlist(runner, rt):
    result = runner.invoke(args=["init", "--demo"])
    assert result.exit_code == 0, result.output
    with rt.db.scope() as session:
        models = set(session.scalars(select(License.model)))
        assert models == set(LicenseModel)
        assert session.scalar(select(func.count()).select_from(Hold)) >= 1
        hold = session.scalar(select(Hold))
        info = services.availability(session, hold.title_id)
        assert info.copies_available == 0 and info.holds_total == 1
        assert session.scalar(select(func.count()).select_from(Loan)) >= 2
        titles_without = session.scalar(
            select(func.count()).select_from(License).where(License.title_id.is_(None))
        )
        assert titles_without == 0


def test_licenses_add_by_isbn_or_id(runner, rt):
    with rt.db.scope() as session:
        title = make_title(session, isbn="9784000000000")
        title_id = title.id
    result = runner.invoke(args=["licenses", "add", "978-4-00-000000-0", "--model", "concurrent", "--copies", "3", "--loan-days", "7"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["licenses", "add", "4-00-000000-4", "--model", "metered-loans", "--copies", "1", "--loans", "26"])
    assert result.exit_code == 0, result.output  # ISBN-10 of the same book
    result = runner.invoke(args=["licenses", "add", str(title_id), "--model", "metered-time", "--copies", "2", "--until", "2099-03-31"])
    assert result.exit_code == 0, result.output
    with rt.db.scope() as session:
        licenses = session.scalars(select(License).where(License.title_id == title_id).order_by(License.id)).all()
        assert [(lic.model.value, lic.copies, lic.loans_remaining, lic.max_loan_days) for lic in licenses] == [
            ("concurrent", 3, None, 7),
            ("metered-loans", 1, 26, None),
            ("metered-time", 2, None, None),
        ]
        assert licenses[2].valid_until.year == 2099


def test_licenses_add_refusals_are_one_line(runner, rt):
    with rt.db.scope() as session:
        title_id = make_title(session).id
    for args in (
        ["licenses", "add", str(title_id), "--model", "concurrent", "--copies", "0"],
        ["licenses", "add", str(title_id), "--model", "metered-time", "--copies", "1", "--until", "2001-01-01"],
        ["licenses", "add", str(title_id), "--model", "metered-time", "--copies", "1", "--until", "someday"],
        ["licenses", "add", "9999999", "--model", "open"],
    ):
        result = runner.invoke(args=args)
        assert result.exit_code == 1, (args, result.output)
        assert result.output.startswith("Error: ") and len(result.output.strip().splitlines()) == 1
    with rt.db.scope() as session:
        assert session.scalar(select(func.count()).select_from(License)) == 0


def test_search_availability_follows_loans_and_licences(rt):
    from elibrary.search.base import SearchQuery
    from tests.lending.factories import make_patron

    def available_ids():
        result = rt.search.search(SearchQuery(filters={"availability": "available"}, limit=100))
        return set(result.ids)

    with rt.db.scope() as session:
        title = make_title(session, title="予約テスト")
        title_id = title.id
    assert title_id not in available_ids()  # no licence yet
    with rt.db.scope() as session:
        services.add_license(session, title_id, "one-copy")
    assert title_id in available_ids()
    with rt.db.scope() as session:
        patron = make_patron(session)
        loan = services.borrow(session, patron, title_id)
        patron_id, loan_id = patron.id, loan.id
    assert title_id not in available_ids()
    with rt.db.scope() as session:
        from elibrary.patrons.models import Patron

        services.return_loan(session, session.get(Patron, patron_id), loan_id)
    assert title_id in available_ids()
