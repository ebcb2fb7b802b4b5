"""The licence check (蔵書点検): a distributor's licence report against our licences, fixed line by line."""
from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from sqlalchemy import select

from catalog_import.licence_report import read_licence_report
from elibrary.catalog.models import Title
from elibrary.errors import Conflict, Forbidden, InvalidInput
from elibrary.lending.models import License
from elibrary.lending.supply import add_license
from elibrary.selection import reconcile
from tests.conftest import csrf_token_for, sign_in_staff
from tests.lending.factories import make_title
from tests.selection.factories import make_staff

HEADER = "ISBN,書名,ライセンス種別,同時貸出数,残り貸出回数,有効期限,提供元\r\n"
SAME, FEWER_LOANS, NOT_OURS, EXTRA, UNOWNED = "9784990000011", "9784990000028", "9784990000035", "9784990000042", "9784990000059"


def report(*rows: str, encoding: str = "cp932") -> bytes:
    return (HEADER + "".join(row + "\r\n" for row in rows)).encode(encoding)


def _library(session):
    """Four titles with licences: one as reported, one with more loans left than reported, one the report lacks."""
    titles = {isbn: make_title(session, title=f"本 {isbn[-3:]}", isbn=isbn) for isbn in (SAME, FEWER_LOANS, NOT_OURS, EXTRA)}
    add_license(session, titles[SAME].id, "one-copy", copies=1)
    add_license(session, titles[FEWER_LOANS].id, "metered-loans", copies=1, loans=26, until=date(2028, 3, 31))
    add_license(session, titles[EXTRA].id, "concurrent", copies=3)
    return titles


ROWS = (f"{SAME},本 011,ワンコピー,1,,,ほんのもり",
        "978-4-9900000-2-8,本 028,回数制限,1,20回,2028/03/31,ほんのもり",
        f"{NOT_OURS},本 035,同時アクセス,2,,2027年3月31日,ほんのもり",
        f"{UNOWNED},持っていない本,ワンコピー,1,,,ほんのもり",
        "9784990000000,壊れた行,ワンコピー,1,,,ほんのもり",
        f"{SAME},=HYPERLINK(\"x\"),サブスク,1,,,ほんのもり")


def test_the_report_is_read_with_clear_reasons_for_bad_rows():
    lines, problems, distributor = read_licence_report(report(*ROWS))
    assert [line.isbn for line in lines] == [SAME, FEWER_LOANS, NOT_OURS, UNOWNED]
    assert lines[1].loans == 20 and lines[1].until == "2028-03-31" and lines[2].until == "2027-03-31"
    assert [number for number, _ in problems] == [6, 7] and "ISBN" in problems[0][1] and "サブスク" in problems[1][1]
    assert distributor == "ほんのもり"
    with pytest.raises(InvalidInput):
        read_licence_report("書名\r\nx\r\n".encode())


def test_differences_and_their_fixes(db_session, rt):
    staff = make_staff(db_session)
    titles = _library(db_session)
    lines, problems, _ = read_licence_report(report(*ROWS))
    run = reconcile.start_check(db_session, staff, lines, problems, filename="r.csv", distributor="ほんのもり", scope="all")
    found = {(d.kind, d.isbn): d for d in reconcile.compare(db_session, run)}
    assert set(found) == {("match", SAME), ("different", FEWER_LOANS), ("missing", NOT_OURS), ("missing", UNOWNED), ("extra", EXTRA)}
    assert found[("different", FEWER_LOANS)].fields == ("loans",)
    assert not found[("missing", UNOWNED)].fixable
    for kind, isbn in (("different", FEWER_LOANS), ("missing", NOT_OURS), ("extra", EXTRA)):
        reconcile.apply_fix(db_session, staff, run.id, found[(kind, isbn)].key, cipher=rt.cipher)
    with pytest.raises(Conflict):
        reconcile.apply_fix(db_session, staff, run.id, found[("missing", UNOWNED)].key)  # not in the catalog
    with pytest.raises(Conflict):
        reconcile.apply_fix(db_session, staff, run.id, found[("extra", EXTRA)].key)  # fixed already: nothing twice
    assert {d.kind for d in reconcile.compare(db_session, run) if d.isbn != UNOWNED} == {"match"}
    metered = db_session.scalar(select(License).where(License.title_id == titles[FEWER_LOANS].id))
    added = db_session.scalar(select(License).where(License.title_id == titles[NOT_OURS].id))
    assert metered.loans_remaining == 20 and "蔵書点検" in metered.note
    assert (added.model.value, added.copies) == ("concurrent", 2)


def test_listed_scope_leaves_licences_the_report_does_not_name(db_session):
    staff = make_staff(db_session)
    _library(db_session)
    lines, problems, _ = read_licence_report(report(ROWS[0]))
    run = reconcile.start_check(db_session, staff, lines, problems, filename="r.csv", distributor="", scope="listed")
    assert [d.kind for d in reconcile.compare(db_session, run)] == ["match"]


def test_only_selectors_check(db_session):
    lines, _, _ = read_licence_report(report(ROWS[0]))
    with pytest.raises(Forbidden):
        reconcile.start_check(db_session, make_staff(db_session, "teacher"), lines, [], filename="r", distributor="", scope="all")


def test_the_pages_and_the_auditors_csv(client, rt):
    with rt.db.scope() as session:
        _library(session)
    sign_in_staff(client, rt, "librarian")
    token = csrf_token_for(client)
    response = client.post("/staff/selection/licence-check", data={"csrf_token": token, "scope": "all",
                                                                   "file": (io.BytesIO(report(*ROWS)), "ライセンス一覧.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and "過剰（報告にない）" in page.text and "ライセンスを追加" in page.text and "行 6" in page.text
    key = next(k for k in re.findall(r'name="key" value="([^"]+)"', page.text) if k.startswith("x:"))
    assert client.post(response.headers["Location"] + "/fix", data={"csrf_token": token, "key": key}).status_code == 303
    rows = list(csv.reader(io.StringIO(client.get(response.headers["Location"] + ".csv").data.decode("utf-8-sig"))))
    results = [row[0] for row in rows[1:]]
    assert results.count("一致") == 1 and "過剰（報告にない）" not in results and results.count("読めない行") == 2
    assert all(not cell.startswith("=") for row in rows for cell in row)
    with rt.db.scope(write=False) as session:
        assert session.scalar(select(Title).where(Title.isbn == UNOWNED)) is None  # never creates a title by itself
