"""Finding and making the school model's rows: schools, years (年度), classes; who does a change (``Actor``)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.audit.recording import Access, record
from elibrary.errors import InvalidInput, NotFound
from elibrary.schools.models import KINDS, School, SchoolClass, SchoolYear


@dataclass(frozen=True)
class Actor:
    """Who makes a change, for the access log: a member of staff (web) or the command line."""

    staff_id: int | None = None
    staff_email: str = "cli"
    address: str | None = None

    def log(self, session: Session, action: str, subject: str, *, patron_id: int | None = None, fields=(), detail: str = "") -> None:
        """Append one access-log entry in the caller's transaction."""
        record(session, self.access(action, subject, patron_id=patron_id, fields=fields, detail=detail))

    def access(self, action: str, subject: str, *, patron_id: int | None = None, fields=(), detail: str = "") -> Access:
        """An access-log entry by this actor, for ``audit.recording.record_many``."""
        return Access(self.staff_id, self.staff_email, self.address, action, subject, patron_id, tuple(fields), detail)


def school_year_of(day: date) -> int:
    """The 年度 a day belongs to: April to March (2027-03-31 is in 2026年度)."""
    return day.year if day.month >= 4 else day.year - 1


def current_school_year(now: datetime) -> int:
    """The 年度 of ``now`` in Tokyo."""
    from elibrary.lending.policy import tokyo_today

    return school_year_of(tokyo_today(now))


def ensure_year(session: Session, year: int, sourced_id: str | None = None) -> SchoolYear:
    """The school year row of ``year`` (April 1 to March 31), made when missing."""
    row = session.scalar(select(SchoolYear).where(SchoolYear.year == year))
    if row is None:
        row = SchoolYear(year=year, starts_on=date(year, 4, 1), ends_on=date(year + 1, 3, 31))
        session.add(row)
    if sourced_id and row.sourced_id != sourced_id:
        row.sourced_id = sourced_id
    session.flush()
    return row


def find_year(session: Session, year: int) -> SchoolYear | None:
    """The school year row of ``year`` if any."""
    return session.scalar(select(SchoolYear).where(SchoolYear.year == year))


def add_school(session: Session, code: str, name: str, kind: str = "elementary", *, sourced_id: str | None = None) -> School:
    """Register a school (学校) by its code; the code must be new."""
    code = (code or "").strip()
    if not code or not name:
        raise InvalidInput("学校コードと学校名を入力してください。", "Give the school code and name.")
    if kind not in KINDS:
        raise InvalidInput("学校の種類は elementary, junior_high, compulsory, special_needs のいずれかです。", "Unknown school kind.")
    if find_school(session, code) is not None:
        raise InvalidInput(f"学校コード {code} はすでに登録されています。", f"School code {code} is already registered.")
    school = School(code=code, name=name, kind=kind, sourced_id=sourced_id, furigana_max_grade=0 if kind == "junior_high" else 2)
    session.add(school)
    session.flush()
    return school


def add_schools(session: Session, infos) -> list[School]:
    """Register several new schools (``code``, ``name``, ``kind``, ``sourced_id`` each) in one flush: a roster's
    new schools, already checked to be new by the plan."""
    codes = [(info.code or "").strip() for info in infos]
    if not codes:
        return []
    taken = set(session.scalars(select(School.code).where(School.code.in_(codes))))
    rows = []
    for code, info in zip(codes, infos, strict=True):
        if not code or not info.name or info.kind not in KINDS or code in taken:
            return [add_school(session, code, info.name, info.kind, sourced_id=info.sourced_id) for info in infos]  # the one-by-one refusal
        taken.add(code)
        rows.append(School(code=code, name=info.name, kind=info.kind, sourced_id=info.sourced_id,
                           furigana_max_grade=0 if info.kind == "junior_high" else 2))
    session.add_all(rows)
    session.flush()
    return rows


def find_school(session: Session, code: str) -> School | None:
    """The school with this code, if registered."""
    return session.scalar(select(School).where(School.code == code))


def get_school(session: Session, code: str) -> School:
    """The school with this code, or ``NotFound``."""
    school = find_school(session, code)
    if school is None:
        raise NotFound(f"学校コード {code} は登録されていません。", f"No school with code {code}.")
    return school


def list_schools(session: Session) -> list[School]:
    """Every school, by code."""
    return list(session.scalars(select(School).order_by(School.code)))


class ClassCache:
    """The classes of one year, found or made by (school, grade, 組) without a query per pupil."""

    def __init__(self, session: Session, year: SchoolYear) -> None:
        self.session, self.year = session, year
        self._rows = {(c.school_id, c.grade, c.name): c for c in session.scalars(select(SchoolClass).where(SchoolClass.year_id == year.id))}

    def get(self, school_id: int, grade: int | None, name: str | None, sourced_id: str | None = None) -> SchoolClass | None:
        """The class, made when missing; None for a member without grade or class (a teacher without a homeroom)."""
        if grade is None or not name:
            return None
        key = (school_id, grade, name)
        row = self._rows.get(key)
        if row is None:
            row = SchoolClass(school_id=school_id, year_id=self.year.id, grade=grade, name=name, sourced_id=sourced_id)
            self.session.add(row)
            self.session.flush()
            self._rows[key] = row
        elif sourced_id and row.sourced_id != sourced_id:
            row.sourced_id = sourced_id
        return row

    def make_missing(self, wanted) -> None:
        """Make every missing class of ``wanted`` ((school_id, grade, name, sourced_id) tuples) in one flush, so
        that ``get`` finds them all without a round trip per class."""
        made = False
        for school_id, grade, name, sourced_id in wanted:
            key = (school_id, grade, name)
            if grade is None or not name or key in self._rows:
                continue
            self._rows[key] = SchoolClass(school_id=school_id, year_id=self.year.id, grade=grade, name=name, sourced_id=sourced_id)
            self.session.add(self._rows[key])
            made = True
        if made:
            self.session.flush()
