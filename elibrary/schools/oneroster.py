"""The OneRoster 1.2 Japan Profile CSV bundle (a zip): a pure parser, bytes in, records and rejected rows out.

Files: manifest.csv (``file.X`` = bulk / delta / absent), orgs, academicSessions, classes, users,
enrollments. A bulk ``users.csv`` lists the schools completely (members missing from it are leaving); in a
delta, ``status=tobedeleted`` says who leaves. The 学級 is the ``homeroom`` class; 学年 comes from the Japan
Profile grade codes (P1–P6, J1–J3, H1–H3), 出席番号 from ``metadata.jp.ShussekiNo``, kana from
``metadata.jp.kanaFamilyName`` / ``metadata.jp.kanaGivenName``. A missing file or a reference to nothing
refuses the whole bundle. ``known`` gives what the database already holds, for delta bundles that refer to it.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field

from elibrary.schools.roster import MAX_ROSTER_BYTES, ParsedRoster, RosterRecord, RosterRefused, SchoolInfo, decode_text, parse_int

FILES = ("orgs", "academicSessions", "classes", "users", "enrollments")
MODES = ("bulk", "delta", "absent")
GRADE_CODE = re.compile(r"^([PJHE])(\d{1,2})$")
GRADE_OFFSET = {"P": 0, "E": 0, "J": 6, "H": 9}  # 義務教育学校 and 特別支援学校 count through: J1 = 7
CLASS_TITLE = re.compile(r"(\d+)\s*年\s*(.+?)\s*組")
ROLES = {"student": "pupil", "teacher": "teacher"}
KIND_BY_NAME = (("義務教育学校", "compulsory"), ("特別支援学校", "special_needs"), ("中学校", "junior_high"), ("小学校", "elementary"))


@dataclass
class KnownIds:
    """What the database holds already, by sourcedId: schools (code, kind), classes (school code, 学年, 組), members."""

    schools: dict[str, tuple[str, str]] = field(default_factory=dict)
    classes: dict[str, tuple[str, int, str]] = field(default_factory=dict)
    members: set[str] = field(default_factory=set)


@dataclass
class _Homeroom:
    school_code: str
    grade: int | None
    name: str


def parse_bundle(data: bytes, known: KnownIds | None = None) -> ParsedRoster:
    """Parse a OneRoster CSV zip; refuse it whole when a file is missing or a reference leads nowhere."""
    known = known or KnownIds()
    files = _read_zip(data)
    modes = _manifest(files)
    for name in FILES:
        if modes[name] != "absent" and f"{name}.csv" not in files:
            raise RosterRefused(f"manifest.csv で {modes[name]} とされている {name}.csv が ZIP の中にありません。",
                                f"{name}.csv is listed as {modes[name]} in manifest.csv but missing from the zip.")
    if modes["users"] == "bulk" and modes["enrollments"] != "bulk":
        raise RosterRefused("users.csv が bulk のときは enrollments.csv も bulk で必要です。", "A bulk users.csv needs a bulk enrollments.csv.")
    roster = ParsedRoster(kind="oneroster", complete=modes["users"] == "bulk")
    rows = {name: _rows(files, name) if modes[name] != "absent" else [] for name in FILES}
    schools = _schools(roster, rows["orgs"], known)
    _sessions(roster, rows["academicSessions"])
    homerooms = _classes(rows["classes"], schools, known)
    users = {row["sourcedId"]: (line, row) for line, row in rows["users"] if row.get("sourcedId")}
    seats = _enrollments(rows["enrollments"], homerooms, schools, users, known)
    roles = _roles(files) if modes.get("roles", "absent") != "absent" or "roles.csv" in files else {}
    _records(roster, users, seats, schools, roles)
    return roster


def _read_zip(data: bytes) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise RosterRefused("ZIP ファイルとして読めません。OneRoster の CSV 一式を ZIP にしたものを選んでください。", "Not a readable zip file.") from None
    infos = [info for info in archive.infolist() if not info.is_dir() and info.filename.lower().endswith(".csv")]
    if sum(info.file_size for info in infos) > 5 * MAX_ROSTER_BYTES:
        raise RosterRefused("ZIP の中身が大きすぎます(展開後 50 MB まで)。", "The zip's contents are too large.")
    return {info.filename.rsplit("/", 1)[-1]: archive.read(info) for info in infos}


def _manifest(files: dict[str, bytes]) -> dict[str, str]:
    if "manifest.csv" not in files:
        raise RosterRefused("ZIP の中に manifest.csv がありません(OneRoster の CSV 一式ではないようです)。", "manifest.csv is missing.")
    values = {}
    for row in csv.reader(io.StringIO(decode_text(files["manifest.csv"]), newline="")):
        if len(row) >= 2:
            values[row[0].strip()] = row[1].strip().lower()
    modes = {"roles": values.get("file.roles", "absent")}
    for name in FILES:
        mode = values.get(f"file.{name}", "absent") or "absent"
        if mode not in MODES:
            raise RosterRefused(f"manifest.csv の file.{name} の値「{mode}」が分かりません(bulk / delta / absent)。", f"Unknown mode for file.{name}.")
        modes[name] = mode
    return modes


def _rows(files: dict[str, bytes], name: str) -> list[tuple[str, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(decode_text(files[f"{name}.csv"]), newline=""))
    rows, line = [], 1
    for row in reader:
        rows.append((f"{name}.csv:{line + 1}", {k.strip(): (v or "").strip() for k, v in row.items() if k}))
        line = reader.line_num
    return rows


def _roles(files: dict[str, bytes]) -> dict[str, str]:
    """userSourcedId -> role from the optional roles.csv (OneRoster 1.2 keeps roles there, 1.1 in users.role)."""
    if "roles.csv" not in files:
        return {}
    roles: dict[str, str] = {}
    for _line, row in _rows(files, "roles"):
        if row.get("status") != "tobedeleted" and (row.get("roleType") == "primary" or row.get("userSourcedId") not in roles):
            roles[row.get("userSourcedId", "")] = row.get("role", "")
    return roles


def _kind_of(name: str) -> str:
    return next((kind for suffix, kind in KIND_BY_NAME if suffix in name), "elementary")


def _schools(roster: ParsedRoster, rows, known: KnownIds) -> dict[str, tuple[str, str]]:
    schools = dict(known.schools)
    for _line, row in rows:
        if row.get("type", "school") != "school" or row.get("status") == "tobedeleted":
            continue
        code = unicodedata.normalize("NFKC", row.get("identifier") or row["sourcedId"]).strip()
        kind = known.schools.get(row["sourcedId"], (code, _kind_of(row.get("name", ""))))[1]
        schools[row["sourcedId"]] = (code, kind)
        roster.schools[code] = SchoolInfo(code, row.get("name") or code, kind, row["sourcedId"])
    return schools


def _sessions(roster: ParsedRoster, rows) -> None:
    years = [(parse_int(row.get("schoolYear")), row["sourcedId"]) for _line, row in rows
             if row.get("type") == "schoolYear" and row.get("status") != "tobedeleted"]
    years = [(year, sid) for year, sid in years if year]
    if years:
        # OneRoster's schoolYear may be the year a school year ends in (US usage); the 年度 is named by the year it
        # starts in, so a start date decides when there is one: April 2026 → 2026年度.
        start = {row["sourcedId"]: row.get("startDate", "") for _line, row in rows}
        year, sid = max(years)
        begins = start.get(sid, "")
        roster.year = int(begins[:4]) if re.match(r"^\d{4}-0[4-9]|^\d{4}-1[0-2]", begins) else year
        roster.year_sourced_id = sid


def _grade(code: str, kind: str) -> int | None:
    match = GRADE_CODE.match((code or "").split(",")[0].strip().upper())
    if match is None:
        return parse_int(code)
    number = int(match.group(2))
    return number + GRADE_OFFSET[match.group(1)] if kind in ("compulsory", "special_needs") else number


def _classes(rows, schools, known: KnownIds) -> dict[str, _Homeroom]:
    homerooms = {sid: _Homeroom(*value) for sid, value in known.classes.items()}
    for line, row in rows:
        if row.get("status") == "tobedeleted" or row.get("classType", "homeroom") != "homeroom":
            continue
        school = schools.get(row.get("schoolSourcedId", ""))
        if school is None:
            raise RosterRefused(f"{line}: schoolSourcedId「{row.get('schoolSourcedId')}」が orgs.csv にありません。", f"{line}: dangling schoolSourcedId.")
        title = unicodedata.normalize("NFKC", row.get("title", ""))
        match = CLASS_TITLE.search(title)
        grade = _grade(row.get("grades", ""), school[1]) or (int(match.group(1)) if match else None)
        name = match.group(2) if match else (row.get("classCode") or title)
        homerooms[row["sourcedId"]] = _Homeroom(school[0], grade, name)
    return homerooms


def _enrollments(rows, homerooms, schools, users, known: KnownIds) -> dict[str, tuple[str, str, _Homeroom | None, int | None, str]]:
    """userSourcedId -> (line, role, homeroom, 出席番号, school code) of the user's active homeroom enrolment."""
    seats = {}
    for line, row in rows:
        if row.get("status") == "tobedeleted":
            continue
        user, klass = row.get("userSourcedId", ""), row.get("classSourcedId", "")
        if user not in users and user not in known.members:
            raise RosterRefused(f"{line}: userSourcedId「{user}」が users.csv にありません。", f"{line}: dangling userSourcedId.")
        school = schools.get(row.get("schoolSourcedId", ""))
        if school is None:
            raise RosterRefused(f"{line}: schoolSourcedId「{row.get('schoolSourcedId')}」が orgs.csv にありません。", f"{line}: dangling schoolSourcedId.")
        role = ROLES.get(row.get("role", ""))
        if role is None:
            continue  # guardians, administrators: no library account from the roster
        homeroom = homerooms.get(klass)
        if homeroom is None:
            continue  # a subject class (scheduled), not the 学級
        number = parse_int(row.get("metadata.jp.ShussekiNo") or row.get("metadata.jp.shussekiNo"))
        seats.setdefault(user, []).append((line, role, homeroom, number, school[0], row.get("sourcedId"), klass))
    return seats


def _records(roster: ParsedRoster, users, seats, schools, roles: dict[str, str]) -> None:
    for sid, (line, row) in users.items():
        places = seats.get(sid, [])
        if row.get("status") == "tobedeleted":
            school = schools.get(row.get("primaryOrgSourcedId", ""), ("", ""))[0]
            roster.records.append(RosterRecord(line=line, role="pupil", school_code=school, sourced_id=sid, leaving=True))
            continue
        if len({p[4] for p in places if p[1] == "pupil"}) > 1:
            roster.reject(line, f"同じ児童生徒が2つの学校({'、'.join(sorted({p[4] for p in places}))})の学級に在籍しています。在籍校を1つにしてください。",
                          "A pupil is enrolled in two schools.")
            continue
        role = ROLES.get(roles.get(sid) or row.get("role", ""))
        if not places and role is None:
            continue  # no class and no student/teacher role: a guardian or an administrator, no library account
        record = _record(line, sid, row, places, schools, role)
        if record is None:
            roster.reject(line, "在籍する学校が分かりません(enrollments.csv に学級の在籍がなく、primaryOrgSourcedId もありません)。", "No school.")
        else:
            roster.records.append(record)
    for sid, places in seats.items():  # delta: an enrolment changed for a user the bundle does not list again
        if sid not in users:
            line, role, homeroom, number, school, enrolment, klass = places[0]
            roster.records.append(RosterRecord(line=line, role=role, school_code=school, grade=homeroom.grade, class_name=homeroom.name,
                                               number=number, sourced_id=sid, class_sourced_id=klass, enrolment_sourced_id=enrolment, keep_person=True))


def _record(line: str, sid: str, row: dict, places: list, schools, role: str | None) -> RosterRecord | None:
    family, given = row.get("familyName", ""), row.get("givenName", "")
    kana = " ".join(p for p in (row.get("metadata.jp.kanaFamilyName", ""), row.get("metadata.jp.kanaGivenName", "")) if p)
    base = dict(line=line, name=" ".join(p for p in (family, given) if p) or None, kana=kana or None, sourced_id=sid, email=row.get("email") or None)
    if places:
        place_line, role, homeroom, number, school, enrolment, klass = sorted(places, key=lambda p: p[1] != "pupil")[0]
        return RosterRecord(role=role, school_code=school, grade=homeroom.grade, class_name=homeroom.name, number=number,
                            class_sourced_id=klass, enrolment_sourced_id=enrolment, **base)
    school = schools.get(row.get("primaryOrgSourcedId", ""))
    if school is None:
        return None
    return RosterRecord(role=role or "pupil", school_code=school[0], grade=_grade(row.get("grades", ""), school[1]), keep_place=True, **base)
