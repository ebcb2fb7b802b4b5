"""E-book stocktake: the distributor's licence report against our licences, fixed line by line, CSV for the auditor."""
from __future__ import annotations

import csv
import io
import re
from datetime import date

from sqlalchemy import select

from elibrary.lending.models import License
from elibrary.lending.supply import add_license
from elibrary.stocktake.parse import parse_report
from tests.conftest import csrf_token_for, sign_in_staff
from tests.lending.factories import make_title

# ISBN-13s with valid check digits
SAME, FEWER, ENDS, MISSING, EXTRA, UNKNOWN, OPEN = (
    "9784000000017", "9784000000024", "9784000000031", "9784000000048", "9784000000055", "9784000000062", "9784000000079")
REPORT = f"""ISBN,書名,ライセンス種別,同時貸出数,残り貸出回数,有効期限,ライセンスID
{SAME},一致する本,ワンコピーマルチユーザー,3,,2027-03-31,L-1
{FEWER},冊数が違う本,concurrent,2,,,L-2
{ENDS},期限が違う本,期間制限,1,,2028/03/31,L-3
{MISSING},当館にない本,回数制限,1,52,,L-4
{UNKNOWN},目録にない本,,1,,,L-5
978-4-00-000,壊れたISBN,,1,,,L-6
""".encode("cp932")


def _setup(rt):
    with rt.db.scope() as session:
        ids = {}
        for isbn, name in ((SAME, "一致する本"), (FEWER, "冊数が違う本"), (ENDS, "期限が違う本"), (MISSING, "当館にない本"), (EXTRA, "取次にない本"),
                           (OPEN, "無料の本")):
            ids[isbn] = make_title(session, isbn=isbn, title=name).id
        add_license(session, ids[SAME], "concurrent", copies=3, until=date(2027, 3, 31))
        add_license(session, ids[FEWER], "concurrent", copies=5)
        add_license(session, ids[ENDS], "metered-time", copies=1, until=date(2027, 3, 31))
        add_license(session, ids[EXTRA], "one-copy")
        add_license(session, ids[OPEN], "open")  # free titles are not the distributor's
        return ids


def _upload(client) -> str:
    response = client.post("/staff/stocktake", data={"csrf_token": csrf_token_for(client), "file": (io.BytesIO(REPORT), "licences.csv")})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


def test_the_parser_reads_shift_jis_and_japanese_headers_and_names_bad_rows():
    entries, problems = parse_report(REPORT)
    assert [e.isbn for e in entries] == [SAME, FEWER, ENDS, MISSING, UNKNOWN]
    assert entries[2].until == date(2028, 3, 31) and entries[2].model == "metered-time" and entries[3].loans == 52
    assert [(p.line, p.reason_en) for p in problems] == [(7, "Invalid ISBN '978-4-00-000'.")]
    assert parse_report(b"title,copies\nx,1\n")[1][0].reason_en.startswith("No ISBN column")


def test_differences_are_listed_and_each_is_fixed_with_one_click(app, rt, client):
    ids = _setup(rt)
    sign_in_staff(client, rt, "librarian")
    location = _upload(client)
    page = client.get(location).get_data(as_text=True)
    rows = re.findall(r"<tr>\s*<td>([^<]+)</td><td>(\d{13})</td>", page)
    assert sorted(rows, key=lambda r: r[1]) == [("同時貸出数が違う", FEWER), ("有効期限が違う", ENDS), ("取次にあり・当館になし", MISSING),
                                                 ("当館にあり・取次になし", EXTRA), ("取次にあり・資料が未登録", UNKNOWN)]
    assert "1 行は読めませんでした" in page
    token = csrf_token_for(client)
    for isbn, kind in ((FEWER, "copies"), (ENDS, "until"), (MISSING, "missing"), (EXTRA, "extra")):
        assert client.post(location + "/fix", data={"csrf_token": token, "isbn": isbn, "kind": kind}).status_code == 303
    again = client.post(location + "/fix", data={"csrf_token": token, "isbn": FEWER, "kind": "copies"})
    assert again.status_code == 409  # fixed already
    assert client.post(location + "/fix", data={"csrf_token": token, "isbn": UNKNOWN, "kind": "unknown-title"}).status_code == 409
    page = client.get(location).get_data(as_text=True)
    assert re.findall(r"<tr>\s*<td>([^<]+)</td><td>(\d{13})</td>", page) == [("取次にあり・資料が未登録", UNKNOWN)]
    with rt.db.scope(write=False) as session:
        def licences(isbn):
            return session.scalars(select(License).where(License.title_id == ids[isbn])).all()

        assert [lic.copies for lic in licences(FEWER)] == [2]
        assert licences(ENDS)[0].valid_until.date() == date(2028, 3, 31)
        [added] = licences(MISSING)
        assert added.model.value == "metered-loans" and added.loans_remaining == 52 and "L-4" in added.note
        assert licences(EXTRA)[0].stop_reason(added.created_at.replace(year=2099)) is not None
    exported = client.get(location + ".csv")
    assert exported.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert table[0][:3] == ["状態", "区分", "ISBN"]
    assert [row[0] for row in table[1:]].count("修正済み") == 4 and ["未対応", "取次にあり・資料が未登録", UNKNOWN] == table[1][:3]


def test_teachers_cannot_open_it(app, rt, client):
    sign_in_staff(client, rt, "teacher")
    assert client.get("/staff/stocktake").status_code == 403


def test_an_unreadable_file_is_refused_with_the_reason(app, rt, client):
    sign_in_staff(client, rt, "admin")
    response = client.post("/staff/stocktake", data={"csrf_token": csrf_token_for(client), "file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv")})
    assert response.status_code == 400 and "ISBN の列が見つかりません" in response.get_data(as_text=True)
