"""Factories for the school sign-in tests: a school, a class and its pupils (flushed, never committed)."""
from __future__ import annotations

from datetime import date

from werkzeug.security import generate_password_hash

from elibrary.patrons.models import Patron
from elibrary.schools.models import Enrolment, Member, School, SchoolClass, SchoolYear


def make_school(session, code: str = "S001", name: str = "みどり小学校") -> School:
    """A school."""
    school = School(code=code, name=name, kind="elementary")
    session.add(school)
    session.flush()
    return school


def make_year(session, year: int = 2026) -> SchoolYear:
    """A school year (年度), April to March."""
    row = SchoolYear(year=year, starts_on=date(year, 4, 1), ends_on=date(year + 1, 3, 31))
    session.add(row)
    session.flush()
    return row


def make_pupil(session, cipher, school: School, login_id: str, *, password: str = "pass2345", email: str | None = None,
               school_class: SchoolClass | None = None, year: SchoolYear | None = None, number: int | None = None,
               name: str | None = None, status: str = "active") -> Member:
    """A pupil's member row with its patron (and an enrolment when a class is given)."""
    patron = Patron(card_hash=cipher.lookup_hash(login_id), card_enc=cipher.encrypt(login_id, "patron.card"), name_enc=cipher.encrypt(name, "patron.name"),
                    pin_hash=generate_password_hash(password, method="scrypt:4096:8:1"), category="student", source="school")
    if email:
        patron.email_enc = cipher.encrypt(email, "patron.email")
        patron.email_hash = cipher.lookup_hash("email:" + email.lower())
    session.add(patron)
    session.flush()
    member = Member(patron_id=patron.id, role="pupil", login_id=login_id, school_id=school.id, status=status)
    session.add(member)
    session.flush()
    if school_class is not None:
        session.add(Enrolment(member_id=member.id, year_id=year.id, school_id=school.id, class_id=school_class.id, grade=school_class.grade, number=number))
        session.flush()
    return member


def make_class(session, school: School, year: SchoolYear, grade: int = 3, name: str = "2") -> SchoolClass:
    """A class (学年・組)."""
    row = SchoolClass(school_id=school.id, year_id=year.id, grade=grade, name=name)
    session.add(row)
    session.flush()
    return row
