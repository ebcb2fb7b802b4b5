"""Carrying out an import plan (``importing.plan_import``) in the caller's transaction.

New accounts get a login id (the roster's, or a random one) and a random initial password, stored as a
hash only; the passwords come back in ``ImportResult.credentials`` for the sign-in cards made right after,
and are never written anywhere in plain text. The caller may bring the passwords already hashed
(``accounts.fresh_passwords``, made before its writing transaction); any it lacks are made here.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.audit.recording import record_many
from elibrary.db import utcnow
from elibrary.lending.policy import tokyo_today
from elibrary.patrons.contact import set_email
from elibrary.patrons.models import Patron
from elibrary.schools import directory
from elibrary.schools.accounts import CATEGORY_OF_ROLE, fresh_passwords, new_login_id, new_patron, normalize_login_id
from elibrary.schools.directory import Actor
from elibrary.schools.importing import ImportPlan, ImportResult, IssuedCredential, counts
from elibrary.schools.models import Enrolment, Member, School
from elibrary.schools.roster import RosterRecord
from elibrary.schools.teacher_links import sync_roster_links
from elibrary.security.crypto import DataCipher


def apply_import(session: Session, cipher: DataCipher, plan: ImportPlan, actor: Actor, *, now: datetime | None = None,
                 passwords: list[tuple[str, str]] | None = None) -> ImportResult:
    """Write a plan: schools, the year, classes, new and changed members, leavers; one access-log entry per change.
    ``passwords``: (password, hash) pairs for the new accounts, made beforehand; unused ones are dropped."""
    now = now or utcnow()
    result = ImportResult(plan=plan)
    directory.add_schools(session, plan.new_schools)
    schools = {s.code: s for s in session.scalars(select(School))}
    for code, info in plan.schools.items():  # OneRoster names the schools: keep name and sourcedId current
        school = schools[code]
        school.name, school.sourced_id = info.name or school.name, info.sourced_id or school.sourced_id
    year = directory.ensure_year(session, plan.year, plan.year_sourced_id)
    classes = directory.ClassCache(session, year)
    # every class of the roster in one statement, not one round trip per new class in the middle of the enrolments
    classes.make_missing((schools[r.school_code].id, r.grade, r.class_name, r.class_sourced_id)
                         for r in [*plan.new, *(c.record for c in plan.changed)] if not r.keep_place)
    enrolments = {e.member_id: e for e in session.scalars(select(Enrolment).where(Enrolment.year_id == year.id))}
    result.credentials = _create_new(session, cipher, plan, schools, enrolments, classes, year.id, passwords or [])
    members = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_([c.member_id for c in plan.changed] or [0])))}
    held = _load_patrons(session, [m.patron_id for m in members.values()])  # in the identity map: no read per member below
    log = []
    for change in plan.changed:
        member, school = members[change.member_id], schools[change.record.school_code]
        _update(session, cipher, member, change.record, school)
        _enrol(session, enrolments, classes, year.id, member, school, change.record)
        log.append(actor.access("change", "school-member", patron_id=member.patron_id, fields=("enrolment",), detail="; ".join(change.differences)))
    if not plan.leaving_held:
        leavers = list(session.scalars(select(Member).where(Member.id.in_([leaving.member_id for leaving in plan.leaving] or [0]))))
        held += _load_patrons(session, [m.patron_id for m in leavers])
        for leaving in plan.leaving:
            member = session.get(Member, leaving.member_id)
            mark_leaving(session, member, tokyo_today(now) - timedelta(days=1), status="left")
            log.append(actor.access("change", "school-member", patron_id=member.patron_id, fields=("status",),
                                    detail=f"転出・離籍 {leaving.school_code} {leaving.place}"))
    record_many(session, log)
    session.flush()
    result.teacher_links = sync_roster_links(session, cipher, actor)
    summary = counts(plan)
    actor.log(session, "change", "school-roster", fields=("roster",),
              detail=f"{plan.year}年度 新規{summary['new']} 変更{summary['changed']} "
                     f"離籍{0 if plan.leaving_held else summary['leaving']} 除外{summary['rejected']}")
    session.flush()
    return result


def _create_new(session: Session, cipher: DataCipher, plan: ImportPlan, schools: dict, enrolments: dict, classes, year_id: int,
                made_before: list[tuple[str, str]]) -> list[IssuedCredential]:
    """The new accounts, inserted in a few statements (3,000 pupils in one import), with their initial passwords."""
    taken = set(session.scalars(select(Member.login_id)))
    passwords = made_before[:len(plan.new)]
    passwords += fresh_passwords(len(plan.new) - len(passwords))  # more new accounts than when they were made
    made = []
    for record, (password, pin_hash) in zip(plan.new, passwords, strict=True):
        login_id = normalize_login_id(record.login_id) if record.login_id else new_login_id(session, taken, check_database=False)
        taken.add(login_id)
        patron = new_patron(cipher, role=record.role, login_id=login_id, password=password, name=record.name, pin_hash=pin_hash)
        if record.email:
            set_email(patron, cipher, record.email)
        session.add(patron)
        made.append((record, login_id, password, patron))
    session.flush()
    members = []
    for record, login_id, _password, patron in made:
        member = Member(patron_id=patron.id, role=record.role, login_id=login_id, sourced_id=record.sourced_id,
                        kana_enc=cipher.encrypt(record.kana, "member.kana"), school_id=schools[record.school_code].id, status="active")
        session.add(member)
        members.append(member)
    session.flush()
    credentials = []
    for (record, login_id, password, _patron), member in zip(made, members, strict=True):
        school = schools[record.school_code]
        _enrol(session, enrolments, classes, year_id, member, school, record)
        credentials.append(IssuedCredential(member.id, login_id, password, school.code, record.grade, record.class_name, record.number, record.role))
    return credentials


def _load_patrons(session: Session, ids: list[int]) -> list[Patron]:
    """Load these patrons in a few queries; while the caller holds the list (the identity map keeps only weak
    references), ``session.get`` finds them without a round trip each."""
    rows: list[Patron] = []
    for start in range(0, len(ids), 1000):
        rows += session.scalars(select(Patron).where(Patron.id.in_(ids[start:start + 1000]))).all()
    return rows


def mark_leaving(session: Session, member: Member, last_day, *, status: str) -> None:
    """A member who leaves (転出・卒業): sign-in works until ``last_day``, then the erasure job removes the account."""
    member.status = status
    member.signin_until = last_day
    patron = session.get(Patron, member.patron_id)
    patron.expires_on = last_day


def _set_email(session: Session, cipher: DataCipher, member: Member, record: RosterRecord) -> None:
    if record.email:
        set_email(session.get(Patron, member.patron_id), cipher, record.email)


def _update(session: Session, cipher: DataCipher, member: Member, record: RosterRecord, school: School) -> None:
    patron = session.get(Patron, member.patron_id)
    if member.status != "active":
        member.status, member.signin_until, patron.expires_on = "active", None, None
    member.school_id = school.id
    if member.role != record.role:
        member.role, patron.category = record.role, CATEGORY_OF_ROLE[record.role]
    if record.sourced_id and not member.sourced_id:
        member.sourced_id = record.sourced_id
    if record.name is not None:
        patron.name_enc = cipher.encrypt(record.name, "patron.name")
    if record.kana is not None:
        member.kana_enc = cipher.encrypt(record.kana, "member.kana")
    _set_email(session, cipher, member, record)


def _enrol(session: Session, enrolments: dict, classes: directory.ClassCache, year_id: int, member: Member, school: School, record: RosterRecord) -> None:
    enrolment = enrolments.get(member.id)
    if record.keep_place and enrolment is not None:
        enrolment.school_id = school.id
        return
    klass = classes.get(school.id, record.grade, record.class_name, record.class_sourced_id)
    if enrolment is None:
        enrolment = Enrolment(member_id=member.id, year_id=year_id, school_id=school.id)
        session.add(enrolment)
        enrolments[member.id] = enrolment
    enrolment.school_id, enrolment.class_id = school.id, klass.id if klass else None
    enrolment.grade, enrolment.number = record.grade, record.number
    if record.enrolment_sourced_id:
        enrolment.sourced_id = record.enrolment_sourced_id
