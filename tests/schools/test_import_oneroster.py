"""The OneRoster 1.2 Japan Profile bundle: bulk, delta, tobedeleted, and refused bundles."""
from __future__ import annotations

import io
import random
import zipfile

import pytest
from sqlalchemy import func, select

from elibrary.patrons.models import Patron
from elibrary.schools import services
from elibrary.schools.directory import Actor
from elibrary.schools.models import Enrolment, Member, School, SchoolClass
from elibrary.schools.roster import RosterRefused
from elibrary.schools.sample_bundle import Bundle, add_user, city_bundle

ACTOR = Actor(None, "test", None)


def run(rt, data: bytes, *, dry_run: bool, year=None):
    with rt.db.scope() as session:
        return services.import_roster(session, rt.cipher, data, ACTOR, year=year, dry_run=dry_run)


@pytest.fixture
def bundle() -> Bundle:
    return city_bundle(schools=4, pupils=80)  # three elementary schools and one junior high (code 2004)


def test_bulk_bundle_creates_schools_classes_and_accounts_once(rt, bundle):
    plan, _ = run(rt, bundle.to_zip(), dry_run=True)
    pupils, teachers = 80, len(bundle.rows["classes"])
    assert (len(plan.new), plan.rejected, plan.year) == (pupils + teachers, [], 2026)
    assert sorted(s.code for s in plan.new_schools) == ["1001", "1002", "1003", "2004"]
    _, result = run(rt, bundle.to_zip(), dry_run=False)
    assert len(result.credentials) == pupils + teachers
    with rt.db.scope() as session:
        junior = session.scalar(select(School).where(School.code == "2004"))
        assert (junior.kind, junior.name) == ("junior_high", "さくら市立第4中学校")
        assert session.scalar(select(func.max(SchoolClass.grade)).where(SchoolClass.school_id == junior.id)) == 3  # J3 → 3年
        member = session.scalar(select(Member).where(Member.sourced_id == "u-000001"))
        assert rt.cipher.decrypt(member.kana_enc, "member.kana") and member.login_id != "u-000001"
        patron = session.get(Patron, member.patron_id)
        assert patron.email_hash == rt.cipher.lookup_hash("email:u-000001@sakura.ed.jp")
    plan, result = run(rt, bundle.to_zip(), dry_run=False)
    assert (len(plan.new), len(plan.changed), len(plan.leaving), plan.unchanged, result.credentials) == (0, 0, 0, pupils + teachers, [])


def test_delta_moves_a_pupil_between_schools_and_removes_one_marked_tobedeleted(rt, bundle):
    _, result = run(rt, bundle.to_zip(), dry_run=False)
    login_of = {}
    with rt.db.scope() as session:
        for member in session.scalars(select(Member)):
            login_of[member.sourced_id] = member.login_id
    delta = Bundle(modes={"orgs": "absent", "academicSessions": "absent", "classes": "absent", "users": "delta", "enrollments": "delta"})
    moved = next(u for u in bundle.rows["users"] if u["sourcedId"] == "u-000001")
    delta.rows["users"].append({**moved, "primaryOrgSourcedId": "org-002"})
    target_class = next(c for c in bundle.rows["classes"] if c["schoolSourcedId"] == "org-002" and c["title"] == "1年1組")
    delta.rows["enrollments"].append(dict(sourcedId="e-move", status="active", classSourcedId=target_class["sourcedId"], schoolSourcedId="org-002",
                                          userSourcedId="u-000001", role="student", **{"metadata.jp.ShussekiNo": "36"}))
    gone = next(u for u in bundle.rows["users"] if u["sourcedId"] == "u-000002")
    delta.rows["users"].append({**gone, "status": "tobedeleted"})
    plan, _ = run(rt, delta.to_zip(), dry_run=False, year=2026)
    assert plan.rejected == []
    assert [(c.login_id, c.differences[0]) for c in plan.changed] == [(login_of["u-000001"], "転入: 1001 → 1002")]
    assert [lv.login_id for lv in plan.leaving] == [login_of["u-000002"]]
    with rt.db.scope() as session:
        moved_member = session.scalar(select(Member).where(Member.sourced_id == "u-000001"))
        enrolment = session.scalar(select(Enrolment).where(Enrolment.member_id == moved_member.id))
        assert (moved_member.login_id, enrolment.number) == (login_of["u-000001"], 36)  # the login id stays with the pupil
        assert session.scalar(select(Member.status).where(Member.sourced_id == "u-000002")) == "left"


def test_a_missing_file_or_a_dangling_reference_refuses_the_whole_bundle(rt, bundle):
    cases = [(bundle.to_zip(leave_out=("users",)), "users.csv が ZIP の中にありません")]
    bundle.rows["enrollments"].append(dict(sourcedId="e-x", status="active", classSourcedId="class-1001-1-1", schoolSourcedId="org-001",
                                           userSourcedId="nobody", role="student"))
    cases.append((bundle.to_zip(), "userSourcedId「nobody」が users.csv にありません"))
    bundle.rows["enrollments"].pop()
    bundle.rows["classes"].append(dict(sourcedId="class-x", status="active", title="1年9組", grades="P1", classType="homeroom", schoolSourcedId="org-999"))
    cases.append((bundle.to_zip(), "schoolSourcedId「org-999」が orgs.csv にありません"))
    cases.append((b"PK\x03\x04 not a zip", "ZIP ファイルとして読めません"))
    for data, reason in cases:
        with pytest.raises(RosterRefused) as refused:
            run(rt, data, dry_run=False)
        assert reason in refused.value.message_ja
    with rt.db.scope() as session:
        assert session.scalar(select(func.count(Member.id))) == 0


def test_a_pupil_in_two_schools_is_rejected_and_the_others_go_in(rt, bundle):
    other = next(c for c in bundle.rows["classes"] if c["schoolSourcedId"] == "org-002")
    bundle.rows["enrollments"].append(dict(sourcedId="e-twice", status="active", classSourcedId=other["sourcedId"], schoolSourcedId="org-002",
                                           userSourcedId="u-000001", role="student"))
    plan, result = run(rt, bundle.to_zip(), dry_run=False)
    assert [p.line for p in plan.rejected] == ["users.csv:3"] and "2つの学校(1001、1002)" in plan.rejected[0].message_ja
    assert len(result.credentials) == len(bundle.rows["users"]) - 1


def test_compulsory_school_grades_count_through(rt):
    bundle = Bundle()
    bundle.rows["orgs"].append(dict(sourcedId="org-g", status="active", name="さくら義務教育学校", type="school", identifier="3001"))
    bundle.rows["academicSessions"].append(dict(sourcedId="as", status="active", type="schoolYear", startDate="2027-04-01", schoolYear="2027"))
    bundle.rows["classes"].append(dict(sourcedId="c-j1", status="active", title="7年1組", grades="J1", classType="homeroom", schoolSourcedId="org-g"))
    add_user(bundle, random.Random(1), "g-1", "org-g", "c-j1", number=1, grade="J1")
    plan, _ = run(rt, bundle.to_zip(), dry_run=True)
    assert plan.year == 2027 and [(r.grade, r.class_name) for r in plan.new] == [(7, "1")]


def test_guardians_get_no_account_and_roles_csv_gives_a_teacher_without_a_class(rt, bundle):
    bundle.rows["users"].append(dict(sourcedId="g-1", status="active", givenName="保護者", familyName="山田", primaryOrgSourcedId="org-001"))
    bundle.rows["users"].append(dict(sourcedId="t-librarian", status="active", givenName="司書", familyName="森", primaryOrgSourcedId="org-001"))
    data = bundle.to_zip()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item))
        target.writestr("roles.csv", "sourcedId,status,dateLastModified,userSourcedId,roleType,role,orgSourcedId\r\n"
                                     "r-1,active,,t-librarian,primary,teacher,org-001\r\nr-2,active,,g-1,primary,guardian,org-001\r\n")
    plan, _ = run(rt, out.getvalue(), dry_run=True)
    sourced = {r.sourced_id: r for r in plan.new}
    assert "g-1" not in sourced and sourced["t-librarian"].role == "teacher" and plan.rejected == []
