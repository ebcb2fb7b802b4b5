"""Lists, funds, orders and receiving: the money moves as rows, tax once per order and rate, nothing twice."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from catalog_import.pool import delivered_isbns
from elibrary.catalog.models import BookFile, Title
from elibrary.errors import Conflict, Forbidden, InvalidInput
from elibrary.lending import services as lending
from elibrary.lending.models import License
from elibrary.selection import funds, lists, orders, receiving
from elibrary.selection.documents import order_csv, order_pdf
from elibrary.selection.models import Decision, FundMovement, LicenseCost, OrderState
from elibrary.selection.money import fiscal_year_label, fiscal_year_of, tax_summary
from tests.lending.factories import make_patron
from tests.selection.factories import make_offer, make_staff

SETTINGS = {"ELIBRARY_LIBRARY_NAME": "みどり市立図書館"}


def _adopted(session, staff, lst, offer, fund, quantity=1, note=""):
    line, _ = lists.add_line(session, staff, lst.id, offer.id, quantity=quantity, fund_id=fund.id, note=note)
    lists.decide(session, staff, line.id, "adopted")
    return line


def test_tax_is_computed_once_per_rate_with_the_citys_rounding():
    lines = [(999, 10), (999, 10), (1001, 8)]
    assert tax_summary(lines, "floor").taxes == {10: 199, 8: 80}  # not 99 + 99 per line
    assert tax_summary(lines, "half-up").taxes == {10: 200, 8: 80}
    assert tax_summary(lines, "ceil").taxes == {10: 200, 8: 81}
    assert fiscal_year_of(date(2028, 3, 31)) == 2027 and fiscal_year_label(2027) == "令和9年度"


def test_only_librarians_and_admins_select(db_session):
    teacher = make_staff(db_session, "teacher")
    with pytest.raises(Forbidden):
        lists.create_list(db_session, teacher, "児童書")
    with pytest.raises(Forbidden):
        funds.create_fund(db_session, teacher, 2027, "一般書", 1_000_000)


def test_a_list_totals_against_the_fund_and_warns_of_duplicates(db_session):
    alice, bob = make_staff(db_session), make_staff(db_session)
    fund = funds.create_fund(db_session, alice, 2027, "児童書", 5_000)
    first, second = lists.create_list(db_session, alice, "春の選書"), lists.create_list(db_session, bob, "夏の選書")
    offer = make_offer(db_session, price=1_500)
    line, warnings = lists.add_line(db_session, alice, first.id, offer.id, quantity=2, fund_id=fund.id, note="人気")
    assert warnings == []
    _, warnings = lists.add_line(db_session, bob, second.id, offer.id, fund_id=fund.id)
    assert [w.code for w in warnings] == ["other-list"] and "春の選書" in warnings[0].ja
    with pytest.raises(Conflict):  # the same offer twice on one list (two selectors at once)
        lists.add_line(db_session, bob, first.id, offer.id)
    lists.comment(db_session, bob, line.id, "絵本コーナーに必要です")
    lists.decide(db_session, bob, line.id, "held")
    view = lists.list_view(db_session, alice, first.id, "floor")
    total = view.totals[fund.id]
    assert (total.subtotal, total.tax, total.total, total.balance.remaining, total.over) == (3_000, 300, 3_300, 5_000, False)
    lists.update_line(db_session, alice, line.id, quantity=4)
    assert lists.list_view(db_session, alice, first.id, "floor").totals[fund.id].over  # 6,600 > 5,000
    assert view.lines[0].comments[0].text == "絵本コーナーに必要です" and view.lines[0].decision == Decision.held
    with pytest.raises(InvalidInput):
        lists.update_line(db_session, alice, line.id, quantity="0")


def test_a_withdrawn_offer_on_a_list_is_flagged_and_not_ordered(db_session):
    staff = make_staff(db_session)
    fund = funds.create_fund(db_session, staff, 2027, "一般書", 100_000)
    lst = lists.create_list(db_session, staff, "一般")
    offer = make_offer(db_session)
    _adopted(db_session, staff, lst, offer, fund)
    offer.withdrawn = True
    db_session.flush()
    view = lists.list_view(db_session, staff, lst.id, "floor")
    assert [w.code for w in view.warnings[view.lines[0].id]] == ["withdrawn"]
    with pytest.raises(Conflict, match="withdrawn"):
        orders.make_order(db_session, staff, lst.id, fund.id, "ほんのもり", rounding="floor")


def test_order_commits_money_cancel_returns_it_and_overspending_needs_an_admin(db_session):
    librarian, admin = make_staff(db_session), make_staff(db_session, "admin")
    fund = funds.create_fund(db_session, librarian, 2027, "一般書", 5_000)
    lst = lists.create_list(db_session, librarian, "一般")
    cheap, dear = make_offer(db_session, price=999), make_offer(db_session, price=3_000, tax_rate=8)
    _adopted(db_session, librarian, lst, cheap, fund, quantity=2)
    _adopted(db_session, librarian, lst, dear, fund)
    with pytest.raises(orders.Overspend):  # 1,998 + 199 + 3,000 + 240 = 5,437 > 5,000
        orders.make_order(db_session, librarian, lst.id, fund.id, "ほんのもり", rounding="floor")
    with pytest.raises(Forbidden):
        orders.make_order(db_session, librarian, lst.id, fund.id, "ほんのもり", rounding="floor", confirm_overspend=True)
    order = orders.make_order(db_session, admin, lst.id, fund.id, "ほんのもり", rounding="floor", confirm_overspend=True)
    balance = funds.balances(db_session, [fund.id])[fund.id]
    assert (balance.committed, balance.remaining) == (5_437, -437)
    orders.cancel_line(db_session, librarian, order.lines[1].id)
    balance = funds.balances(db_session, [fund.id])[fund.id]
    assert (balance.committed, balance.remaining) == (2_197, 2_803)
    kinds = db_session.execute(select(FundMovement.kind, FundMovement.amount).where(FundMovement.fund_id == fund.id)
                               .order_by(FundMovement.id)).all()
    assert [a for _, a in kinds] == [5_000, 5_437, -3_240], "every change is a row, never an edited total"


def test_order_csv_is_the_distributors_format_with_formulas_neutralised_and_the_pdf_reads_back(db_session):
    staff = make_staff(db_session)
    fund = funds.create_fund(db_session, staff, 2027, "児童書", 100_000)
    lst = lists.create_list(db_session, staff, "児童")
    offer = make_offer(db_session, title="=HYPERLINK(\"http://evil\")", price=1_200, model="metered-loans", loans=26)
    _adopted(db_session, staff, lst, offer, fund, quantity=3, note="@SUM(A1)")
    _adopted(db_session, staff, lst, make_offer(db_session, title="はらぺこのくま", price=1_800), fund)
    order = orders.make_order(db_session, staff, lst.id, fund.id, "ほんのもり", rounding="floor")
    rows = list(csv.reader(io.StringIO(order_csv(order, SETTINGS).decode("cp932"))))
    assert rows[0][:3] == ["発注番号", "ISBN", "書名"]
    assert rows[1][2] == "'=HYPERLINK(\"http://evil\")" and rows[1][-1] == "'@SUM(A1)"
    assert rows[1][4] == "回数制限 26回" and rows[1][5:8] == ["3", "1200", "3600"]
    custom = {**SETTINGS, "ELIBRARY_ORDER_CSV": {"encoding": "utf-8", "columns": [["isbn", "isbn"], ["qty", "quantity"]]}}
    assert order_csv(order, custom).decode("utf-8").splitlines()[0] == "isbn,qty"
    with pytest.raises(InvalidInput):
        order_csv(order, {"ELIBRARY_ORDER_CSV": {"columns": [["x", "price_with_magic"]]}})
    text = PdfReader(io.BytesIO(order_pdf(order, SETTINGS))).pages[0].extract_text()
    for expected in ("発注書", "ほんのもり 御中", "令和9年度", "児童書", "はらぺこのくま", "2027-0001", "5,400", "540", "5,940"):
        assert expected in text, expected


def test_receiving_creates_titles_and_licences_moves_the_money_and_waits_for_files(db_session, rt):
    staff = make_staff(db_session)
    fund = funds.create_fund(db_session, staff, 2027, "一般書", 100_000)
    lst = lists.create_list(db_session, staff, "一般")
    offer = make_offer(db_session, title="森のうた", price=2_000, model="metered-time", copies=1, loans=26, term_months=24)
    _adopted(db_session, staff, lst, offer, fund, quantity=2)
    order = orders.make_order(db_session, staff, lst.id, fund.id, "ほんのもり", rounding="floor")
    receiving.receive_order(db_session, staff, order.id)
    balance = funds.balances(db_session, [fund.id])[fund.id]
    assert (balance.committed, balance.spent, balance.remaining) == (0, 4_400, 95_600)
    title = db_session.scalar(select(Title).where(Title.title == "森のうた"))
    assert title is not None and title.source == "selection"
    assert receiving.waiting_for_files(db_session, order) == {order.lines[0].id}  # ファイル未着: no licence yet
    assert db_session.scalar(select(func.count()).select_from(License).where(License.title_id == title.id)) == 0
    with pytest.raises(Conflict, match="already"):
        receiving.receive_order(db_session, staff, order.id)
    assert funds.balances(db_session, [fund.id])[fund.id].spent == 4_400, "receiving twice counts nothing twice"
    db_session.add(BookFile(title_id=title.id, storage_key=f"books/{title.id}/x.epub", sha256="0" * 64,
                            size=1, media_type="application/epub+zip"))
    db_session.flush()
    assert receiving.license_arrived(db_session, staff) == 1
    licences = db_session.scalars(select(License).where(License.title_id == title.id)).all()
    assert len(licences) == 2 and {(lic.model.value, lic.loans_total) for lic in licences} == {("metered-time", 26)}
    costs = db_session.scalars(select(LicenseCost).where(LicenseCost.license_id.in_([lic.id for lic in licences]))).all()
    assert {(c.price, c.tax) for c in costs} == {(2_000, 200)}
    loan = lending.borrow(db_session, make_patron(db_session), title.id)
    assert loan.license_id in {lic.id for lic in licences}
    assert order.state == OrderState.received


def test_a_delivery_file_receives_its_lines_and_the_money_adds_up_to_the_order(db_session):
    staff = make_staff(db_session)
    fund = funds.create_fund(db_session, staff, 2027, "一般書", 100_000)
    lst = lists.create_list(db_session, staff, "一般")
    first = make_offer(db_session, title="一冊目", price=999, isbn="9784990000042")
    second = make_offer(db_session, title="二冊目", price=999, isbn="9784990000059")
    _adopted(db_session, staff, lst, first, fund)
    _adopted(db_session, staff, lst, second, fund)
    order = orders.make_order(db_session, staff, lst.id, fund.id, "ほんのもり", rounding="floor")  # 1,998 + 199 = 2,197
    delivery = "ISBN,書名\r\n978-4-9900000-4-2,一冊目\r\n9784990000080,別の本\r\n".encode("cp932")
    _, unknown = receiving.receive_delivery(db_session, staff, order.id, delivered_isbns(delivery))
    assert unknown == ["9784990000080"]
    balance = funds.balances(db_session, [fund.id])[fund.id]
    assert (balance.committed, balance.spent) == (1_098, 1_098)  # 999 + 99 each side while half is delivered
    with pytest.raises(Conflict):
        receiving.receive_delivery(db_session, staff, order.id, delivered_isbns(delivery))  # the same delivery twice
    receiving.receive_order(db_session, staff, order.id)
    balance = funds.balances(db_session, [fund.id])[fund.id]
    assert (balance.committed, balance.spent) == (0, 2_197), "in the end the fund pays the order's total, tax once"
    assert order.state == OrderState.received
    with pytest.raises(InvalidInput):
        delivered_isbns("書名\r\nx\r\n".encode("utf-8"))
