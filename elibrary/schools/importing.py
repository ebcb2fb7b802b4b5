"""Roster import (名簿の取り込み): the dry-run diff, then the apply step.

``plan_import`` reads the database and a parsed roster and returns what would happen (new, changed,
leaving, rejected) without writing anything; ``apply_import`` carries out a plan in the caller's
transaction. Members are matched on the roster's sourcedId, then on the login id, and — for template
rows without a login id — on their seat this year (school, 学年, 組, 出席番号); never on a name.
A rejected row changes nothing; when a roster has rejected rows, nobody is marked as leaving (a row
that failed to parse must not make its pupil disappear).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.patrons.models import Patron
from elibrary.schools.accounts import LOGIN_ID_PATTERN, normalize_login_id
from elibrary.schools.models import KINDS, Enrolment, Member, School, SchoolClass, SchoolYear
from elibrary.schools.roster import ParsedRoster, RosterProblem, RosterRecord, RosterRefused, SchoolInfo
from elibrary.security.crypto import DataCipher


@dataclass
class Change:
    """A member the roster changes (or reactivates), with the differences in Japanese."""

    record: RosterRecord
    member_id: int
    login_id: str
    differences: list[str]


@dataclass(frozen=True)
class Leaving:
    """A member of a listed school whom the roster no longer lists (or lists as tobedeleted)."""

    member_id: int
    login_id: str
    school_code: str
    place: str  # "3年2組 15番"


@dataclass
class ImportPlan:
    """What an import would do; nothing is written until ``apply_import``."""

    year: int
    new: list[RosterRecord] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    leaving: list[Leaving] = field(default_factory=list)
    rejected: list[RosterProblem] = field(default_factory=list)
    unchanged: int = 0
    new_schools: list[SchoolInfo] = field(default_factory=list)
    leaving_held: bool = False  # rows were rejected: leaving members are kept until the file is fixed
    year_sourced_id: str | None = None
    schools: dict[str, SchoolInfo] = field(default_factory=dict)


@dataclass(frozen=True)
class IssuedCredential:
    """A new account's login id and initial password: in memory only, for the one sign-in-card run after import."""

    member_id: int
    login_id: str
    password: str
    school_code: str
    grade: int | None
    class_name: str | None
    number: int | None
    role: str


@dataclass
class ImportResult:
    """What an applied import did, with the new accounts' initial passwords (never stored in plain text)."""

    plan: ImportPlan
    credentials: list[IssuedCredential] = field(default_factory=list)
    teacher_links: tuple[int, int] = (0, 0)  # staff accounts linked to, and unlinked from, roster teachers


def place_of(grade: int | None, class_name: str | None, number: int | None) -> str:
    """「3年2組 15番」 (the parts that are known)."""
    text = f"{grade}年" if grade is not None else ""
    text += f"{class_name}組" if class_name else ""
    text += f" {number}番" if number is not None else ""
    return text.strip()


class _State:
    """The database as the plan needs it, loaded once (3,000 pupils: a handful of queries)."""

    def __init__(self, session: Session, year: int) -> None:
        self.schools = {s.code: s for s in session.scalars(select(School))}
        self.school_by_id = {s.id: s for s in self.schools.values()}
        self.members = list(session.scalars(select(Member)))
        # the names to compare, in one query (a patron read per member was 3,000 round trips for a re-import)
        self.names = dict(session.execute(select(Patron.id, Patron.name_enc).join(Member, Member.patron_id == Patron.id)).all())
        self.by_sourced = {m.sourced_id: m for m in self.members if m.sourced_id}
        self.by_login = {m.login_id: m for m in self.members}
        self.stripped_login = {m.login_id.lstrip("0"): m.login_id for m in self.members if m.login_id.isdigit()}
        year_row = session.scalar(select(SchoolYear).where(SchoolYear.year == year))
        self.enrolment: dict[int, tuple[Enrolment, SchoolClass | None]] = {}
        self.seat: dict[tuple, Member] = {}
        if year_row is not None:
            rows = session.execute(select(Enrolment, SchoolClass).outerjoin(SchoolClass, Enrolment.class_id == SchoolClass.id)
                                   .where(Enrolment.year_id == year_row.id))
            member_by_id = {m.id: m for m in self.members}
            for enrolment, klass in rows:
                self.enrolment[enrolment.member_id] = (enrolment, klass)
                member = member_by_id[enrolment.member_id]
                if klass is not None and (enrolment.number is not None or member.role == "teacher"):
                    self.seat[(enrolment.school_id, enrolment.grade, klass.name, enrolment.number, member.role)] = member


def plan_import(session: Session, cipher: DataCipher, roster: ParsedRoster, *, year: int, school_code: str | None = None) -> ImportPlan:
    """The diff a roster makes for ``year`` (new, changed, leaving, rejected); writes nothing."""
    plan = ImportPlan(year=year, rejected=list(roster.problems), year_sourced_id=roster.year_sourced_id, schools=dict(roster.schools))
    state = _State(session, year)
    if school_code is not None and school_code not in state.schools and school_code not in roster.schools:
        raise RosterRefused(f"指定した学校コード「{school_code}」は登録されていません。", f"Unknown school code {school_code}.")
    plan.new_schools = [info for code, info in roster.schools.items() if code not in state.schools]
    duplicates = _duplicate_keys(roster.records)
    matched: set[int] = set()
    listed_schools: set[str] = set()
    for record in roster.records:
        if school_code is not None and record.school_code != school_code:
            plan.rejected.append(RosterProblem(record.line, f"--school で指定した学校({school_code})以外の行です(学校コード {record.school_code})。"))
            continue
        listed_schools.add(record.school_code)
        _plan_record(session, cipher, plan, state, roster, record, duplicates, matched)
    if school_code is not None:
        listed_schools = {school_code}
    plan.rejected.sort(key=lambda p: _line_order(p.line))
    if roster.complete:
        _plan_leaving(plan, state, listed_schools, matched)
    if plan.rejected and plan.leaving:
        plan.leaving_held = True
    return plan


def _line_order(line: str) -> tuple:
    name, _, number = line.rpartition(":")
    return (name, int(number) if number.isdigit() else 0)


def _duplicate_keys(records: list[RosterRecord]) -> dict[str, list[RosterRecord]]:
    """Login ids and sourcedIds given on more than one row (a pupil in two schools, a copied row)."""
    keys: dict[str, list[RosterRecord]] = {}
    for record in records:
        for key in _keys(record):
            keys.setdefault(key, []).append(record)
    return {key: rows for key, rows in keys.items() if len(rows) > 1}


def _keys(record: RosterRecord) -> list[str]:
    keys = [f"sourced:{record.sourced_id}"] if record.sourced_id else []
    if record.login_id:
        keys.append(f"login:{normalize_login_id(record.login_id)}")
    if not keys:  # a template row without login id is its seat this year: one pupil (or homeroom teacher) per seat
        keys.append(f"seat:{record.school_code}/{record.grade}/{record.class_name}/{record.number}/{record.role}")
    return keys


def _duplicate_problem(record: RosterRecord, rows: list[RosterRecord]) -> RosterProblem:
    others = "、".join(r.line for r in rows if r is not record)
    schools = sorted({r.school_code for r in rows})
    if len(schools) > 1:
        return RosterProblem(record.line, f"同じ人が2つの学校({'、'.join(schools)})に在籍しています(ほかの行: {others})。在籍校を1つにしてください。",
                             "The same person is enrolled in two schools.")
    if record.login_id:
        what = f"ログインID「{record.login_id}」"
    elif record.sourced_id:
        what = f"sourcedId「{record.sourced_id}」"
    else:
        what = f"{record.school_code} {place_of(record.grade, record.class_name, record.number)}({'教員' if record.role == 'teacher' else '児童生徒'})"
    return RosterProblem(record.line, f"{what}が重複しています(ほかの行: {others})。", "Duplicate login id or sourcedId.")


def _plan_record(session, cipher, plan, state, roster, record, duplicates, matched) -> None:  # noqa: PLR0913 - one record's checks
    problem = None if record.leaving else _check_record(state, roster, record, duplicates)
    if problem is not None:
        plan.rejected.append(problem)
        return
    member = _match(state, record)
    if isinstance(member, RosterProblem):
        plan.rejected.append(member)
        return
    if member is not None:
        matched.add(member.id)
    if record.leaving:
        if member is not None and member.status == "active":
            plan.leaving.append(_leaving(state, member))
        return
    if member is None:
        if record.login_id and normalize_login_id(record.login_id) in state.by_login:
            plan.rejected.append(RosterProblem(record.line, f"ログインID「{record.login_id}」は別の人が使っています。"))
            return
        plan.new.append(record)
        return
    differences = _differences(session, cipher, state, member, record)
    if differences:
        plan.changed.append(Change(record, member.id, member.login_id, differences))
    else:
        plan.unchanged += 1


def _check_record(state: _State, roster: ParsedRoster, record: RosterRecord, duplicates) -> RosterProblem | None:
    for key in _keys(record):
        if key in duplicates:
            return _duplicate_problem(record, duplicates[key])
    school = state.schools.get(record.school_code)
    info = roster.schools.get(record.school_code)
    if school is None and info is None:
        padded = [code for code in state.schools if code.lstrip("0") == record.school_code.lstrip("0")]
        if padded:
            return RosterProblem(record.line, f"学校コード「{record.school_code}」は登録されていません。「{padded[0]}」の先頭の0が"
                                 "消えていませんか(Excelで開いて保存すると消えます。列を文字列にしてください)。", "Leading zeros lost?")
        return RosterProblem(record.line, f"学校コード「{record.school_code}」は登録されていません(先に学校を登録してください)。", "Unknown school code.")
    kind = school.kind if school is not None else info.kind
    highest = KINDS[kind][2]
    if record.role == "pupil" and record.grade is not None and not 1 <= record.grade <= highest:
        return RosterProblem(record.line, f"学年「{record.grade}」は{KINDS[kind][0]}にありません(1〜{highest})。", "Grade out of range.")
    if record.login_id:
        login = normalize_login_id(record.login_id)
        if not LOGIN_ID_PATTERN.match(login):
            return RosterProblem(record.line, f"ログインID「{record.login_id}」に使えない文字があります(半角英数字と . _ - 、3〜40文字)。", "Invalid login id.")
        if login.isdigit() and login not in state.by_login and login.lstrip("0") in state.stripped_login and state.stripped_login[login.lstrip("0")] != login:
            return RosterProblem(record.line, f"ログインID「{record.login_id}」は登録されていません。「{state.stripped_login[login.lstrip('0')]}」の先頭の0が"
                                 "消えていませんか(Excelで開いて保存すると消えます)。", "Leading zeros lost?")
    return None


def _match(state: _State, record: RosterRecord) -> Member | RosterProblem | None:
    login = normalize_login_id(record.login_id) if record.login_id else None
    member = state.by_sourced.get(record.sourced_id) if record.sourced_id else None
    if member is not None:
        if login and login != member.login_id:
            return RosterProblem(record.line, f"ログインIDは変えられません(この人のログインIDは「{member.login_id}」です)。", "Login ids never change.")
        return member
    if login:
        member = state.by_login.get(login)
        if member is not None and record.sourced_id and member.sourced_id and member.sourced_id != record.sourced_id:
            return RosterProblem(record.line, f"ログインID「{record.login_id}」は別の人(sourcedId が異なる)が使っています。", "Login id taken.")
        return member
    if record.sourced_id is None:
        school = state.schools.get(record.school_code)
        if school is not None:
            return state.seat.get((school.id, record.grade, record.class_name, record.number, record.role))
    return None


def _differences(session, cipher: DataCipher, state: _State, member: Member, record: RosterRecord) -> list[str]:
    differences = []
    if member.status != "active":
        differences.append("在籍に戻す")
    current = state.enrolment.get(member.id)
    school = state.school_by_id.get(member.school_id) if member.school_id else None
    if school is None or school.code != record.school_code:
        differences.append(f"転入: {school.code if school else '-'} → {record.school_code}")
    old_place = place_of(current[0].grade, current[1].name if current[1] else None, current[0].number) if current else ""
    new_place = place_of(record.grade, record.class_name, record.number)
    if current is None and record.keep_place:
        differences.append(f"(今年度の在籍なし) → {place_of(record.grade, None, None) or '-'}")
    elif (current is None and not record.keep_place) or (current is not None and not record.keep_place and old_place != new_place):
        differences.append(f"{old_place or '(今年度の在籍なし)'} → {new_place or '-'}")
    if member.role != record.role:
        differences.append(f"種別: {member.role} → {record.role}")
    if record.name is not None and cipher.decrypt(state.names.get(member.patron_id), "patron.name") != record.name:
        differences.append("氏名を更新")
    if record.kana is not None and cipher.decrypt(member.kana_enc, "member.kana") != record.kana:
        differences.append("ふりがなを更新")
    return differences


def _leaving(state: _State, member: Member) -> Leaving:
    school = state.school_by_id.get(member.school_id) if member.school_id else None
    current = state.enrolment.get(member.id)
    place = place_of(current[0].grade, current[1].name if current[1] else None, current[0].number) if current else ""
    return Leaving(member.id, member.login_id, school.code if school else "", place)


def _plan_leaving(plan: ImportPlan, state: _State, listed: set[str], matched: set[int]) -> None:
    already = {leaving.member_id for leaving in plan.leaving}
    for member in state.members:
        if member.status != "active" or member.id in matched or member.id in already:
            continue
        school = state.school_by_id.get(member.school_id) if member.school_id else None
        if school is not None and school.code in listed:
            plan.leaving.append(_leaving(state, member))


def counts(plan: ImportPlan) -> Counter:
    """The numbers of a plan, for summaries."""
    return Counter(new=len(plan.new), changed=len(plan.changed), leaving=len(plan.leaving), rejected=len(plan.rejected), unchanged=plan.unchanged)
