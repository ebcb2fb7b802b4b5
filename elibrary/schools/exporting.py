"""The roster as elibrary holds it, in the CSV template's columns with the login ids (名簿の書き出し).

Schools fill in next year's classes in this file (keeping the ログインID column), so the new roster matches
every continuing pupil by login id even when the classes are reshuffled. Names are left out: the file
carries no personal data beyond the pseudonymous login id; the export is still written to the access log.
"""
from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.schools.directory import Actor
from elibrary.schools.models import Enrolment, Member, School, SchoolClass, SchoolYear
from elibrary.schools.roster_csv import TEMPLATE_HEADERS

ROLE_LABELS = {"pupil": "児童", "teacher": "教員"}


def export_roster(session: Session, actor: Actor, *, year: int, school_code: str | None = None) -> str:
    """The year's active members (of one school, or all) as template CSV text with their login ids."""
    query = (select(School.code, School.kind, Enrolment.grade, SchoolClass.name, Enrolment.number, Member.login_id, Member.role)
             .join(Enrolment, Enrolment.member_id == Member.id).join(SchoolYear, Enrolment.year_id == SchoolYear.id)
             .join(School, Enrolment.school_id == School.id).outerjoin(SchoolClass, Enrolment.class_id == SchoolClass.id)
             .where(SchoolYear.year == year, Member.status == "active")
             .order_by(School.code, Enrolment.grade, SchoolClass.name, Member.role.desc(), Enrolment.number))
    if school_code:
        query = query.where(School.code == school_code)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(TEMPLATE_HEADERS)
    count = 0
    for code, kind, grade, klass, number, login_id, role in session.execute(query):
        label = "生徒" if role == "pupil" and kind == "junior_high" else ROLE_LABELS[role]
        writer.writerow((code, grade or "", klass or "", number or "", "", "", login_id, label))
        count += 1
    actor.log(session, "export", "school-roster", fields=("login_id", "enrolment"), detail=f"{year}年度 {school_code or '全校'} {count}人")
    return out.getvalue()
