"""The ``lending.patron_facts`` hook the statistics call: school, grade and estimated age, nothing for citizens."""
from __future__ import annotations

from sqlalchemy import select

from elibrary.db import hooks_of
from elibrary.patrons.models import Patron
from elibrary.patrons.services import add_local_patron
from elibrary.schools import services
from elibrary.schools.directory import Actor
from elibrary.schools.models import Member
from tests.schools.conftest import roster_csv


def facts(session, patron) -> dict:
    merged: dict = {}
    for fn in hooks_of(session, "lending.patron_facts"):
        merged.update(fn(session, patron))
    return merged


def test_school_grade_and_age_from_the_grade(rt, schools):
    rows = [("0101", 1, 1, 1, "", "", "", "児童"), ("0201", 2, 1, 1, "", "", "", "生徒"), ("0101", 1, 1, "", "", "", "", "教員")]
    with rt.db.scope() as session:
        services.import_roster(session, rt.cipher, roster_csv(rows), Actor(), year=2026, dry_run=False)
        citizen = add_local_patron(session, rt.cipher, "C0000001", "pin-0001")
    with rt.db.scope() as session:
        found = {}
        for member in session.scalars(select(Member)):
            found[member.role, member.school_id] = facts(session, session.get(Patron, member.patron_id))
        assert sorted(found.values(), key=str) == sorted([{"school": "0101", "grade": 1, "age": 6}, {"school": "0201", "grade": 2, "age": 13},
                                                          {"school": "0101", "grade": 1}], key=str)
        assert facts(session, session.get(Patron, citizen.id)) == {}
