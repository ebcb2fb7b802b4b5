"""The ``lending.patron_facts`` hook: a school account's school, grade and age for de-identified statistics.

The statistics wing calls every callable registered under ``PATRON_FACTS`` as ``fn(session, patron)`` and
merges the dicts. Age is the birth date's when a roster gave one, else estimated from the grade: a 1st
grader of an elementary school is 6 in April (a junior high's 1st grader 12).
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.patrons.models import Patron
from elibrary.schools.models import Enrolment, Member, School, SchoolYear
from elibrary.security.crypto import DataCipher

PATRON_FACTS = "lending.patron_facts"
FIRST_GRADE_AGE = {"elementary": 6, "compulsory": 6, "special_needs": 6, "junior_high": 12}


def patron_facts(session: Session, patron: Patron, *, cipher: DataCipher | None = None) -> dict:
    """``{"school": code, "grade": n, "age": years}`` for a school account; ``{}`` for every other patron.

    The wiring room registers it with the runtime's ``cipher`` bound (to read a birth date when one is kept).
    """
    if patron is None or patron.source != "school":
        return {}
    row = session.execute(
        select(Member, Enrolment, School)
        .join(Enrolment, Enrolment.member_id == Member.id)
        .join(SchoolYear, Enrolment.year_id == SchoolYear.id)
        .join(School, Enrolment.school_id == School.id)
        .where(Member.patron_id == patron.id)
        .order_by(SchoolYear.year.desc())
        .limit(1)
    ).first()
    if row is None:
        return {}
    member, enrolment, school = row
    facts: dict = {"school": school.code}
    if enrolment.grade is not None:
        facts["grade"] = enrolment.grade
    age = _age_from_birth_date(cipher, member)
    if age is None and enrolment.grade is not None and member.role == "pupil":
        age = FIRST_GRADE_AGE.get(school.kind, 6) + enrolment.grade - 1
    if age is not None:
        facts["age"] = age
    return facts


def _age_from_birth_date(cipher: DataCipher | None, member: Member) -> int | None:
    if member.birth_date_enc is None or cipher is None:
        return None
    try:
        born = date.fromisoformat(cipher.decrypt(member.birth_date_enc, "member.birth_date") or "")
    except ValueError:
        return None
    today = date.today()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
