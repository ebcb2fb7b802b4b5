"""The April roll-over: move up, graduate, the new roster's first-years and transfers, undo, erasure."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from elibrary.audit.models import AccessLogEntry
from elibrary.errors import Conflict
from elibrary.lending import services as lending
from elibrary.lending.models import Hold, Loan
from elibrary.patrons.models import Patron
from elibrary.patrons.services import SignInFailed, sign_in_for_request
from elibrary.schools import erasure, rollover, services
from elibrary.schools.directory import Actor
from elibrary.schools.models import Enrolment, Member, SchoolYear
from tests.lending.factories import make_patron, make_title
from tests.schools.conftest import roster_csv

ACTOR = Actor(None, "test", None)
UNTIL = date(2027, 4, 30)
ROWS_2026 = [
    ("0101", 5, 1, 1, "", "", "five0001", "児童"),
    ("0101", 6, 1, 1, "", "", "six00001", "児童"),  # graduates, goes on to みどり中学校
    ("0101", 6, 1, 2, "", "", "six00002", "児童"),  # graduates, leaves the city
    ("0102", 3, 2, 7, "", "", "move0001", "児童"),  # moves to さくら小 in April
    ("0101", 5, 1, "", "", "", "teach001", "教員"),
]
ROSTER_2027_CSV = [
    ("0101", 6, 2, 3, "", "", "five0001", "児童"),
    ("0101", 4, 1, 9, "", "", "move0001", "児童"),
    ("0101", 1, 1, 1, "", "", "", "児童"),  # a new first-year
    ("0101", 6, 2, "", "", "", "teach001", "教員"),
]
JUNIOR_2027 = [("0201", 1, 3, 5, "", "", "six00001", "生徒")]


@pytest.fixture
def year_2026(rt, schools):
    with rt.db.scope() as session:
        _, result = services.import_roster(session, rt.cipher, roster_csv(ROWS_2026), ACTOR, year=2026, dry_run=False)
    return {c.login_id: c for c in result.credentials}


def place(session, login_id: str, year: int):
    member = session.scalar(select(Member).where(Member.login_id == login_id))
    enrolment = session.scalar(select(Enrolment).join(SchoolYear).where(Enrolment.member_id == member.id, SchoolYear.year == year))
    return member.status, enrolment.grade if enrolment else None, enrolment.number if enrolment else None


def test_preview_writes_nothing_then_apply_moves_up_and_graduates(rt, year_2026):
    with rt.db.scope() as session:
        preview = rollover.preview_rollover(session, rt.cipher, 2027, until=UNTIL)
    assert (preview.count("promote"), preview.count("graduate"), preview.count("teacher")) == (2, 2, 1)
    with rt.db.scope() as session:
        assert session.scalar(select(func.count(SchoolYear.id)).where(SchoolYear.year == 2027)) == 0
        result = rollover.apply_rollover(session, rt.cipher, 2027, ACTOR, until=UNTIL)
    assert result.count("promote") == 2
    with rt.db.scope() as session:
        assert place(session, "five0001", 2027) == ("active", 6, 1)
        assert place(session, "six00001", 2027) == ("graduated", None, None)
        graduate = session.scalar(select(Member).where(Member.login_id == "six00001"))
        assert graduate.signin_until == UNTIL
        assert session.scalar(select(func.count(AccessLogEntry.id)).where(AccessLogEntry.subject == "school-rollover")) == 5  # 2+2 and the summary
    with rt.db.scope() as session, pytest.raises(Conflict):
        rollover.apply_rollover(session, rt.cipher, 2027, ACTOR, until=UNTIL)  # twice into the same year: refused


def test_rollover_with_the_new_roster_enrols_first_years_transfers_and_keeps_loans(rt, year_2026):
    loan_id, hold_id = _loan_and_hold(rt, "move0001")
    with rt.db.scope() as session:
        roster = services.parse_roster(session, roster_csv(ROSTER_2027_CSV + JUNIOR_2027))
        result = rollover.apply_rollover(session, rt.cipher, 2027, ACTOR, until=UNTIL, roster=roster)
    assert result.roster.rejected == [] and len(result.imported.credentials) == 1
    assert sorted(lv.login_id for lv in result.roster.leaving) == []  # six00002 graduated: not "leaving" twice
    with rt.db.scope() as session:
        assert place(session, "five0001", 2027) == ("active", 6, 3)
        assert place(session, "move0001", 2027) == ("active", 4, 9)  # 転入 keeps the login id
        assert place(session, "six00001", 2027) == ("active", 1, 5)  # 進学 to 中学校: the same account
        assert place(session, "six00002", 2027)[0] == "graduated"
        junior = session.scalar(select(Member).where(Member.login_id == "six00001"))
        assert junior.signin_until is None and session.get(Patron, junior.patron_id).expires_on is None
        assert session.get(Loan, loan_id) is not None and session.get(Hold, hold_id) is not None  # loans and holds survive


def _loan_and_hold(rt, login_id: str) -> tuple[int, int]:
    """The pupil borrows one school book and waits for another (lent to a citizen)."""
    with rt.db.scope() as session:
        patron = session.get(Patron, session.scalar(select(Member.patron_id).where(Member.login_id == login_id)))
        first, second = (make_title(session, collections=("school",)) for _ in range(2))
        for title in (first, second):
            lending.add_license(session, title.id, "one-copy", copies=1)
        loan = lending.borrow(session, patron, first.id)
        lending.borrow(session, make_patron(session, rt.cipher), second.id)
        hold = lending.place_hold(session, patron, second.id)
        return loan.id, hold.id


def test_undo_until_the_first_sign_in(rt, year_2026):
    with rt.db.scope() as session:
        roster = services.parse_roster(session, roster_csv(ROSTER_2027_CSV))
        rollover.apply_rollover(session, rt.cipher, 2027, ACTOR, until=UNTIL, roster=roster)
    with rt.db.scope() as session:
        rollover.undo_rollover(session, ACTOR)
    with rt.db.scope() as session:
        assert session.scalar(select(func.count(Enrolment.id)).join(SchoolYear).where(SchoolYear.year == 2027)) == 0
        assert session.scalar(select(func.count(Member.id))) == 5  # the first-year created by the roster is gone
        assert session.scalar(select(func.count(Member.id)).where(Member.status == "active")) == 5
        rollover.apply_rollover(session, rt.cipher, 2027, ACTOR, until=UNTIL)
    with rt.db.scope() as session:
        sign_in_for_request(session, rt, "five0001", year_2026["five0001"].password, "192.0.2.9")
    with rt.db.scope() as session, pytest.raises(Conflict) as refused:
        rollover.undo_rollover(session, ACTOR)
    assert "1 人がログインした" in refused.value.message_ja


def test_graduates_sign_in_until_the_cut_off_then_are_erased(rt, year_2026):
    _loan_and_hold(rt, "six00001")
    with rt.db.scope() as session:
        rollover.apply_rollover(session, rt.cipher, 2027, ACTOR, until=date.today().replace(year=date.today().year - 1))
    with rt.db.scope() as session, pytest.raises(SignInFailed):
        sign_in_for_request(session, rt, "six00001", year_2026["six00001"].password, "192.0.2.9")
    ends = erasure.LendingEnds(return_loan=lending.return_loan, cancel_hold=lending.cancel_hold)
    report = erasure.scheduled_erasure(rt, datetime.now(timezone.utc), ends)
    assert report == "school accounts erased: 2"
    with rt.db.scope() as session:
        assert session.scalar(select(func.count(Member.id))) == 3
        assert session.scalar(select(func.count(Loan.id))) == 1  # the citizen's: the graduate's loan ended, the hold went
        assert session.scalar(select(func.count(Hold.id))) == 0


def test_cli_rollover_dry_run_apply_and_undo(runner, rt, year_2026, tmp_path):
    roster = tmp_path / "2027.csv"
    roster.write_bytes(roster_csv(ROSTER_2027_CSV + JUNIOR_2027))
    dry = runner.invoke(args=["schools", "rollover", "--year", "2027", "--roster", str(roster), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "dry run: 2026→2027年度: promoted 2, graduated 2 (sign-in until 2027-04-30), teachers 1" in dry.output
    assert "password" not in dry.output
    with rt.db.scope() as session:
        assert session.scalar(select(func.count(SchoolYear.id)).where(SchoolYear.year == 2027)) == 0
    applied = runner.invoke(args=["schools", "rollover", "--year", "2027", "--roster", str(roster)])
    assert applied.exit_code == 0 and "login_id,password" in applied.output
    undone = runner.invoke(args=["schools", "rollover-undo"])
    assert undone.exit_code == 0 and "undone: 2026→2027年度" in undone.output


def test_exported_roster_with_new_classes_matches_every_pupil_by_login_id(rt, year_2026, runner, tmp_path):
    with rt.db.scope() as session:
        rollover.apply_rollover(session, rt.cipher, 2027, ACTOR, until=UNTIL)
    out = tmp_path / "2027.csv"
    assert runner.invoke(args=["schools", "export-roster", str(out), "--year", "2027"]).exit_code == 0
    lines = out.read_bytes().decode("utf-8-sig").splitlines()
    assert lines[0] == "学校コード,学年,組,出席番号,氏名,ふりがな,ログインID,種別" and len(lines) == 4  # five0001, move0001, the teacher
    reshuffled = "\r\n".join([lines[0]] + [line.replace(",1,1,,,five0001", ",3,9,,,five0001") for line in lines[1:]]) + "\r\n"
    with rt.db.scope() as session:
        plan, _ = services.import_roster(session, rt.cipher, reshuffled.encode(), ACTOR, year=2027, dry_run=False)
    assert (len(plan.new), len(plan.leaving), [c.login_id for c in plan.changed]) == (0, 0, ["five0001"])
    with rt.db.scope() as session:
        assert place(session, "five0001", 2027) == ("active", 6, 9)


def test_mid_year_transfer_and_leaving_by_hand(runner, rt, year_2026):
    loan_id, hold_id = _loan_and_hold(rt, "move0001")
    moved = runner.invoke(args=["schools", "transfer", "MOVE0001", "--school", "0101", "--grade", "3", "--class", "4", "--number", "20", "--year", "2026"])
    assert moved.exit_code == 0, moved.output
    with rt.db.scope() as session:
        assert place(session, "move0001", 2026) == ("active", 3, 20)
        assert session.get(Loan, loan_id) is not None and session.get(Hold, hold_id) is not None
    refused = runner.invoke(args=["schools", "transfer", "move0001", "--school", "0101", "--grade", "9"])
    assert refused.exit_code == 1 and "学年は1〜6" in refused.output
    assert runner.invoke(args=["schools", "leave", "move0001"]).exit_code == 0
    with rt.db.scope() as session, pytest.raises(SignInFailed):
        sign_in_for_request(session, rt, "move0001", year_2026["move0001"].password, "192.0.2.9")


def test_the_access_log_chain_verifies_after_a_rollover(rt, year_2026):
    from elibrary.audit import services as audit_services

    with rt.db.scope() as session:
        rollover.apply_rollover(session, rt.cipher, 2027, ACTOR, until=UNTIL)
    with rt.db.scope() as session:
        result = audit_services.verify(session, chain=rt.audit)
        assert result.ok, result
        details = list(session.scalars(select(AccessLogEntry.detail).where(AccessLogEntry.subject == "school-rollover").order_by(AccessLogEntry.id)))
        assert "進級 0101 5年1組 1番 → 6年1組 1番" in details and details[-1].startswith("2026→2027年度")
