"""One member by hand (mid-year 転入/転出 without a roster): move to another school of the city, or leave.

A move keeps the account, its login id, loans and holds; only this year's enrolment changes.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.db import utcnow
from elibrary.errors import InvalidInput, NotFound
from elibrary.lending.policy import tokyo_today
from elibrary.patrons.models import Patron
from elibrary.schools import directory
from elibrary.schools.accounts import normalize_login_id
from elibrary.schools.applying import mark_leaving
from elibrary.schools.directory import Actor
from elibrary.schools.importing import place_of
from elibrary.schools.models import KINDS, Enrolment, Member, School


def find_member(session: Session, login_id: str) -> Member:
    """The member with this login id, or ``NotFound``."""
    member = session.scalar(select(Member).where(Member.login_id == normalize_login_id(login_id)))
    if member is None:
        raise NotFound(f"ログインID「{login_id}」の人はいません。", f"No member with login id {login_id}.")
    return member


def transfer(session: Session, actor: Actor, login_id: str, school_code: str, *, grade: int | None, class_name: str | None,
             number: int | None = None, year: int | None = None, now: datetime | None = None) -> Member:
    """転入: put the member in ``school_code`` (grade, 組, 出席番号) for the year; the login id stays."""
    member = find_member(session, login_id)
    school = directory.get_school(session, school_code)
    if member.role == "pupil" and (grade is None or not 1 <= grade <= KINDS[school.kind][2]):
        raise InvalidInput(f"学年は1〜{KINDS[school.kind][2]}で指定してください。", "Give a grade within the school's range.")
    year_row = directory.ensure_year(session, year or directory.current_school_year(now or utcnow()))
    klass = directory.ClassCache(session, year_row).get(school.id, grade, class_name)
    enrolment = session.scalar(select(Enrolment).where(Enrolment.member_id == member.id, Enrolment.year_id == year_row.id))
    before = session.get(School, member.school_id).code if member.school_id else "-"
    if enrolment is None:
        enrolment = Enrolment(member_id=member.id, year_id=year_row.id, school_id=school.id)
        session.add(enrolment)
    enrolment.school_id, enrolment.class_id, enrolment.grade, enrolment.number = school.id, klass.id if klass else None, grade, number
    patron = session.get(Patron, member.patron_id)
    member.school_id, member.status, member.signin_until, patron.expires_on = school.id, "active", None, None
    actor.log(session, "change", "school-member", patron_id=member.patron_id, fields=("enrolment",),
              detail=f"転入 {before} → {school.code} {place_of(grade, class_name, number)}")
    session.flush()
    return member


def leave(session: Session, actor: Actor, login_id: str, *, now: datetime | None = None) -> Member:
    """転出 (out of the city's schools): sign-in stops now; the erasure job removes the account tomorrow."""
    member = find_member(session, login_id)
    mark_leaving(session, member, tokyo_today(now or utcnow()) - timedelta(days=1), status="left")
    actor.log(session, "change", "school-member", patron_id=member.patron_id, fields=("status",), detail="転出(手作業)")
    session.flush()
    return member
