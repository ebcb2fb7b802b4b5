"""The Japanese roster CSV: dry run, apply, idempotence, and every kind of bad row."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from elibrary.patrons.models import Patron
from elibrary.patrons.services import SignInFailed, sign_in_for_request
from elibrary.schools import services
from elibrary.schools.directory import Actor
from elibrary.schools.models import Enrolment, Member
from elibrary.schools.roster import RosterRefused
from tests.schools.conftest import roster_csv

ACTOR = Actor(None, "test", None)
ROWS = [
    ("0101", 3, 2, 1, "髙橋 﨑子", "たかはし さきこ", "", "児童"),
    ("0101", 3, 2, 2, "", "", "", "児童"),
    ("0101", 3, 2, "", "山田 先生", "", "", "教員"),
    ("0102", 1, 1, 1, "", "", "abc12345", "児童"),
]


def run(rt, data: bytes, *, dry_run: bool, year: int = 2026, school_code=None):
    with rt.db.scope() as session:
        return services.import_roster(session, rt.cipher, data, ACTOR, year=year, school_code=school_code, dry_run=dry_run)


def test_dry_run_writes_nothing_then_import_creates_accounts_that_sign_in(rt, schools):
    plan, result = run(rt, roster_csv(ROWS), dry_run=True)
    assert (len(plan.new), len(plan.changed), len(plan.leaving), plan.rejected) == (4, 0, 0, [])
    assert result is None
    with rt.db.scope() as session:
        assert session.scalar(select(func.count(Member.id))) == 0
    plan, result = run(rt, roster_csv(ROWS), dry_run=False)
    assert len(result.credentials) == 4
    by_login = {c.login_id: c for c in result.credentials}
    assert "abc12345" in by_login
    generated = [c for c in result.credentials if c.login_id != "abc12345"]
    for cred in generated:
        assert len(cred.login_id) == 8 and not set(cred.login_id) & set("0O1lI")
        assert len(cred.password) == 8 and not set(cred.password) & set("0O1lI")
    with rt.db.scope() as session:
        patrons = list(session.scalars(select(Patron)))
        assert {p.source for p in patrons} == {"school"} and sorted(p.category for p in patrons) == ["student"] * 3 + ["teacher"]
        assert all(cred.password not in (p.pin_hash or "") for p in patrons for cred in result.credentials)
        takahashi = next(c for c in result.credentials if c.number == 1 and c.school_code == "0101")
        member = session.get(Member, takahashi.member_id)
        assert rt.cipher.decrypt(session.get(Patron, member.patron_id).name_enc, "patron.name") == "髙橋 﨑子"
        patron = sign_in_for_request(session, rt, takahashi.login_id.capitalize(), takahashi.password, "192.0.2.1")  # a tablet's capital
        assert patron.id == member.patron_id
        with pytest.raises(SignInFailed):
            sign_in_for_request(session, rt, takahashi.login_id, "wrong-pass", "192.0.2.1")


def test_importing_the_same_file_twice_changes_nothing(rt, schools):
    run(rt, roster_csv(ROWS), dry_run=False)
    plan, result = run(rt, roster_csv(ROWS), dry_run=False)
    assert (len(plan.new), len(plan.changed), len(plan.leaving), plan.unchanged) == (0, 0, 0, 4)
    assert result.credentials == []
    with rt.db.scope() as session:
        assert session.scalar(select(func.count(Member.id))) == 4


def test_a_moved_seat_is_a_change_and_a_missing_pupil_is_leaving(rt, schools):
    run(rt, roster_csv(ROWS), dry_run=False)
    rows = [ROWS[0], ROWS[2], ("0101", 3, 2, 2, "", "", "", "児童"), ("0102", 2, 1, 1, "", "", "abc12345", "児童")]
    rows = [ROWS[0], ROWS[2], ("0102", 2, 1, 1, "", "", "ABC12345", "児童")]  # seat 3-2-2 gone; abc12345 moved up a grade
    plan, _ = run(rt, roster_csv(rows), dry_run=True)
    assert [c.login_id for c in plan.changed] == ["abc12345"] and "1年1組 1番 → 2年1組 1番" in plan.changed[0].differences
    assert [(lv.school_code, lv.place) for lv in plan.leaving] == [("0101", "3年2組 2番")]
    run(rt, roster_csv(rows), dry_run=False)
    with rt.db.scope() as session:
        assert session.scalar(select(func.count(Member.id)).where(Member.status == "left")) == 1
        left = session.scalar(select(Member).where(Member.status == "left"))
        assert session.get(Patron, left.patron_id).expires_on is not None


def test_cp932_with_old_character_forms_and_wave_dash(rt, schools):
    rows = [("0101", 1, 1, 1, "髙﨑 ～みらい～", "", "", "児童")]
    plan, result = run(rt, roster_csv(rows, encoding="cp932"), dry_run=False)
    assert plan.rejected == [] and len(result.credentials) == 1
    with rt.db.scope() as session:
        patron = session.scalar(select(Patron))
        assert rt.cipher.decrypt(patron.name_enc, "patron.name") == "髙﨑 ～みらい～"
    bom = b"\xef\xbb\xbf" + roster_csv(rows)
    plan, _ = run(rt, bom, dry_run=True)
    assert plan.rejected == [] and plan.unchanged == 1


@pytest.mark.parametrize(("row", "reason"), [
    (("0101", "", 1, 1, "", "", "", "児童"), "学年がありません"),
    (("9999", 1, 1, 1, "", "", "", "児童"), "学校コード「9999」は登録されていません"),
    (("101", 1, 1, 1, "", "", "", "児童"), "「0101」の先頭の0が消えていませんか"),
    (("0101", 7, 1, 1, "", "", "", "児童"), "学年「7」は小学校にありません"),
    (("0201", 4, 1, 1, "", "", "", "生徒"), "学年「4」は中学校にありません"),
    (("0101", 1, 1, 1, "", "", "", "保護者"), "種別「保護者」が分かりません"),
    (("0101", 1, 1, 1, "", "", "ab cd!", "児童"), "使えない文字"),
])
def test_bad_rows_are_rejected_with_their_line_and_a_japanese_reason(rt, schools, row, reason):
    plan, _ = run(rt, roster_csv([ROWS[1], row]), dry_run=False)
    assert len(plan.rejected) == 1 and plan.rejected[0].line == "3" and reason in plan.rejected[0].message_ja
    with rt.db.scope() as session:
        assert session.scalar(select(func.count(Member.id))) == 1  # the good row went in, the bad one changed nothing


def test_duplicate_login_ids_and_a_pupil_in_two_schools_reject_every_copy(rt, schools):
    rows = [("0101", 1, 1, 1, "", "", "dup00001", "児童"), ("0101", 1, 1, 2, "", "", "DUP00001", "児童"),
            ("0101", 2, 1, 1, "", "", "two00001", "児童"), ("0102", 2, 1, 1, "", "", "two00001", "児童")]
    plan, _ = run(rt, roster_csv(rows), dry_run=True)
    messages = {p.line: p.message_ja for p in plan.rejected}
    assert set(messages) == {"2", "3", "4", "5"}
    assert "重複しています(ほかの行: 3)" in messages["2"]
    assert "2つの学校(0101、0102)に在籍しています" in messages["4"]


def test_excel_stripped_leading_zeros_of_a_login_id(rt, schools):
    run(rt, roster_csv([("0101", 1, 1, 1, "", "", "00123456", "児童")]), dry_run=False)
    plan, _ = run(rt, roster_csv([("0101", 1, 1, 1, "", "", "123456", "児童")]), dry_run=True)
    assert "「00123456」の先頭の0が消えていませんか" in plan.rejected[0].message_ja
    assert plan.leaving == [] or plan.leaving_held


def test_rejected_rows_hold_back_leaving(rt, schools):
    run(rt, roster_csv(ROWS), dry_run=False)
    plan, _ = run(rt, roster_csv([ROWS[0], ("0101", "x", 2, 2, "", "", "", "児童")]), dry_run=False)
    assert plan.leaving_held and plan.leaving
    with rt.db.scope() as session:
        assert session.scalar(select(func.count(Member.id)).where(Member.status == "left")) == 0


def test_refused_files(rt, schools):
    for data, reason in ((roster_csv([], header=("学校コード", "組", "出席番号", "種別")), "見出しに次の列がありません: 学年"),
                         (roster_csv(ROWS) + "髙".encode("cp932") + "﨑\r\n".encode(), "文字コード"),
                         (roster_csv(ROWS) + b"0101,1,1,1,,,,x\r\n" * 700_000, "大きすぎます")):
        with pytest.raises(RosterRefused) as refused:
            run(rt, data, dry_run=True)
        assert reason in refused.value.message_ja


def test_school_option_limits_the_rows(rt, schools):
    plan, _ = run(rt, roster_csv(ROWS), dry_run=True, school_code="0102")
    assert len(plan.new) == 1 and len(plan.rejected) == 3 and "以外の行です" in plan.rejected[0].message_ja
    with rt.db.scope() as session:
        assert session.scalar(select(func.count(Enrolment.id))) == 0


def test_cli_add_school_and_import_roster(runner, rt, tmp_path):
    assert runner.invoke(args=["schools", "add", "0301", "あおば小学校", "--furigana-max-grade", "3"]).exit_code == 0
    roster = tmp_path / "roster.csv"
    roster.write_bytes(roster_csv([("0301", 1, 1, 1, "", "", "", "児童"), ("0301", "", 1, 2, "", "", "", "児童")], encoding="cp932"))
    dry = runner.invoke(args=["schools", "import-roster", str(roster), "--year", "2026", "--dry-run"])
    assert dry.exit_code == 0 and "dry run: 2026年度 new 1" in dry.output and "rejected line 3: 学年がありません" in dry.output
    assert "password" not in dry.output
    real = runner.invoke(args=["schools", "import-roster", str(roster), "--year", "2026"])
    assert real.exit_code == 0 and "school,grade,class,number,role,login_id,password" in real.output
    with rt.db.scope() as session:
        assert session.scalar(select(func.count(Member.id))) == 1
    refused = runner.invoke(args=["schools", "import-roster", str(roster), "--school", "9999"])
    assert refused.exit_code == 1 and "指定した学校コード「9999」は登録されていません" in refused.output
