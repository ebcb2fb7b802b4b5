"""The April roll-over (年度更新): move up (進級), graduate (卒業), and the new year's roster (入学, 転出/転入).

``preview_rollover`` does the whole roll-over inside a SAVEPOINT and rolls it back, so the preview is exactly
what ``apply_rollover`` will do (and a dry run never generates a password). ``apply_rollover`` works in the
caller's transaction: the caller commits once, so the roll-over happens completely or not at all. Every change
goes in the access log. ``undo_rollover`` puts everything back until the first school account signs in after it.

Move up keeps the 組 and 出席番号 provisionally; the new year's roster (given here or imported later) sets the
real classes. Graduates (the highest grade of their school) sign in until ``graduate_until`` and are erased
afterwards by the ``school-erasure`` job (their loans and holds end then). A graduate whom the new roster lists
at another school of the city (小 → 中) is enrolled there and keeps the account and its login id.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from elibrary.audit.recording import record_many
from elibrary.db import utcnow
from elibrary.errors import Conflict, InvalidInput, NotFound
from elibrary.patrons.models import Patron
from elibrary.schools import directory
from elibrary.schools.applying import apply_import, mark_leaving
from elibrary.schools.directory import Actor
from elibrary.schools.importing import ImportPlan, ImportResult, place_of, plan_import
from elibrary.schools.models import KINDS, Enrolment, Member, Rollover, School, SchoolClass, SchoolYear
from elibrary.schools.roster import ParsedRoster
from elibrary.security.crypto import DataCipher


@dataclass(frozen=True)
class Step:
    """One member's roll-over step."""

    member_id: int
    login_id: str
    kind: str  # promote, graduate, teacher
    school_code: str
    before: str  # 「3年2組 15番」
    after: str


@dataclass
class RolloverResult:
    """What a roll-over did (or, previewed, would do)."""

    from_year: int
    to_year: int
    steps: list[Step] = field(default_factory=list)
    roster: ImportPlan | None = None
    imported: ImportResult | None = None
    rollover_id: int | None = None

    def count(self, kind: str) -> int:
        """How many steps of ``kind``."""
        return sum(1 for step in self.steps if step.kind == kind)


def graduate_until(settings_value: str | None, to_year: int) -> date:
    """The graduates' last sign-in day: ``ELIBRARY_SCHOOLS_GRADUATE_UNTIL`` (MM-DD, default 04-30) of the new year."""
    month, _, day = (settings_value or "04-30").partition("-")
    try:
        return date(to_year, int(month), int(day))
    except ValueError:
        raise InvalidInput("ELIBRARY_SCHOOLS_GRADUATE_UNTIL は MM-DD で指定してください(例: 04-30)。",
                           "Set ELIBRARY_SCHOOLS_GRADUATE_UNTIL as MM-DD.") from None


def preview_rollover(session: Session, cipher: DataCipher, to_year: int, *, until: date, roster: ParsedRoster | None = None,
                     now: datetime | None = None) -> RolloverResult:
    """What the roll-over into ``to_year`` would do, computed in a SAVEPOINT that is rolled back (nothing stays written)."""
    savepoint = session.begin_nested()
    try:
        result = _roll(session, Actor(None, "preview", None), to_year, until, now or utcnow())
        if roster is not None:
            result.roster = plan_import(session, cipher, roster, year=to_year)
    finally:
        savepoint.rollback()
    return result


def apply_rollover(session: Session, cipher: DataCipher, to_year: int, actor: Actor, *, until: date, roster: ParsedRoster | None = None,
                   now: datetime | None = None, passwords: list[tuple[str, str]] | None = None) -> RolloverResult:
    """Roll over into ``to_year`` in the caller's transaction; the new year's roster (if given) is imported with it.
    ``passwords``: its new accounts' initial passwords, hashed beforehand (``services.passwords_for``)."""
    now = now or utcnow()
    result = _roll(session, actor, to_year, until, now)
    row = session.get(Rollover, result.rollover_id)
    if roster is not None:
        result.roster = plan_import(session, cipher, roster, year=to_year)
        touched = [c.member_id for c in result.roster.changed] + [lv.member_id for lv in result.roster.leaving]
        snapshot = dict(row.undo["members"])
        for member in session.scalars(select(Member).where(Member.id.in_(touched or [0]))):
            snapshot.setdefault(str(member.id), _state(member))
        result.imported = apply_import(session, cipher, result.roster, actor, now=now, passwords=passwords)
        row.undo = {**row.undo, "members": snapshot}
    created = [c.member_id for c in result.imported.credentials] if result.imported else []
    row.undo = {**row.undo, "created_members": created}
    row.summary = {"promoted": result.count("promote"), "graduated": result.count("graduate"), "teachers": result.count("teacher"),
                   "new": len(created), "changed": len(result.roster.changed) if result.roster else 0,
                   "leaving": len(result.roster.leaving) if result.roster and not result.roster.leaving_held else 0}
    actor.log(session, "change", "school-rollover", fields=("enrolment",), detail=f"{to_year - 1}→{to_year}年度 " + str(row.summary))
    session.flush()
    return result


def _roll(session: Session, actor: Actor, to_year: int, until: date, now: datetime) -> RolloverResult:
    """Promote, graduate and carry teachers over; returns the steps (the Rollover row holds the undo data)."""
    source = directory.find_year(session, to_year - 1)
    if source is None:
        raise NotFound(f"{to_year - 1}年度の在籍がありません(先に名簿を取り込んでください)。", f"No enrolments in {to_year - 1}.")
    target = directory.ensure_year(session, to_year)
    if session.scalar(select(func.count(Enrolment.id)).where(Enrolment.year_id == target.id)):
        raise Conflict(f"{to_year}年度の在籍がすでにあります(年度更新は済んでいるか、新年度の名簿が先に取り込まれています)。",
                       f"The {to_year} school year already has enrolments.")
    result = RolloverResult(from_year=to_year - 1, to_year=to_year)
    schools = {s.id: s for s in session.scalars(select(School))}
    classes = directory.ClassCache(session, target)
    # the patrons are loaded with the members: a graduate's cut-off is set on both without a query each
    rows = session.execute(select(Member, Enrolment, SchoolClass, Patron).join(Enrolment, Enrolment.member_id == Member.id)
                           .join(Patron, Member.patron_id == Patron.id)
                           .outerjoin(SchoolClass, Enrolment.class_id == SchoolClass.id)
                           .where(Enrolment.year_id == source.id, Member.status == "active").order_by(Member.id)).all()
    # next year's classes in one statement (one round trip per class, in the middle of the enrolments, before)
    classes.make_missing((e.school_id, e.grade + 1, k.name, None) for m, e, k, _p in rows
                         if m.role != "teacher" and k is not None and e.grade is not None and e.grade < KINDS[schools[e.school_id].kind][2])
    before: dict[str, list] = {}
    log: list = []
    for member, enrolment, klass, _patron in rows:
        before[str(member.id)] = _state(member)
        school = schools[enrolment.school_id]
        name = klass.name if klass else None
        was = place_of(enrolment.grade, name, enrolment.number)
        if member.role == "teacher":
            session.add(Enrolment(member_id=member.id, year_id=target.id, school_id=school.id))
            result.steps.append(Step(member.id, member.login_id, "teacher", school.code, was, ""))
            continue
        if enrolment.grade is not None and enrolment.grade >= KINDS[school.kind][2]:
            mark_leaving(session, member, until, status="graduated")
            result.steps.append(Step(member.id, member.login_id, "graduate", school.code, was, f"卒業(ログインは{until:%-m月%-d日}まで)"))
            log.append(actor.access("change", "school-rollover", patron_id=member.patron_id, fields=("status",), detail=f"卒業 {school.code} {was}"))
            continue
        grade = enrolment.grade + 1 if enrolment.grade is not None else None
        new_class = classes.get(school.id, grade, name)
        session.add(Enrolment(member_id=member.id, year_id=target.id, school_id=school.id, class_id=new_class.id if new_class else None,
                              grade=grade, number=enrolment.number))
        after = place_of(grade, name, enrolment.number)
        result.steps.append(Step(member.id, member.login_id, "promote", school.code, was, after))
        log.append(actor.access("change", "school-rollover", patron_id=member.patron_id, fields=("enrolment",), detail=f"進級 {school.code} {was} → {after}"))
    record_many(session, log)
    row = Rollover(from_year=to_year - 1, to_year=to_year, applied_at=now, applied_by=actor.staff_email, undo={"members": before}, summary={})
    session.add(row)
    session.flush()
    result.rollover_id = row.id
    return result


def latest_rollover(session: Session) -> Rollover | None:
    """The newest roll-over not undone."""
    return session.scalar(select(Rollover).where(Rollover.undone_at.is_(None)).order_by(Rollover.applied_at.desc(), Rollover.id.desc()).limit(1))


def can_undo(session: Session, rollover: Rollover) -> str | None:
    """Why this roll-over cannot be undone (a reason in Japanese), or None when it can."""
    signed_in = session.scalar(select(func.count(Patron.id)).where(Patron.source == "school", Patron.last_login_at > rollover.applied_at))
    if signed_in:
        return f"年度更新のあとに {signed_in} 人がログインしたため、元に戻せません。"
    members = rollover.undo.get("members", {})
    present = session.scalar(select(func.count(Member.id)).where(Member.id.in_([int(k) for k in members] or [0])))
    if present != len(members):
        return "卒業生のアカウントがすでに削除されているため、元に戻せません。"
    return None


def undo_rollover(session: Session, actor: Actor, *, now: datetime | None = None) -> Rollover:
    """Put the newest roll-over back: the new year's enrolments and classes, its new accounts, the graduates' status."""
    rollover = latest_rollover(session)
    if rollover is None:
        raise NotFound("元に戻せる年度更新がありません。", "No roll-over to undo.")
    reason = can_undo(session, rollover)
    if reason:
        raise Conflict(reason, "This roll-over can no longer be undone.")
    target = directory.find_year(session, rollover.to_year)
    created = rollover.undo.get("created_members", [])
    if created:
        patron_ids = list(session.scalars(select(Member.patron_id).where(Member.id.in_(created))))
        session.execute(delete(Patron).where(Patron.id.in_(patron_ids)))
    session.execute(delete(Enrolment).where(Enrolment.year_id == target.id))
    session.execute(delete(SchoolClass).where(SchoolClass.year_id == target.id))
    states = rollover.undo.get("members", {})
    members = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_([int(k) for k in states] or [0])))}
    patrons = {p.id: p for p in session.scalars(select(Patron).where(Patron.id.in_([m.patron_id for m in members.values()] or [0])))}
    for member_id, (status, until, school_id) in states.items():
        member = members[int(member_id)]
        member.status, member.school_id = status, school_id
        member.signin_until = date.fromisoformat(until) if until else None
        patrons[member.patron_id].expires_on = member.signin_until
    rollover.undone_at = now or utcnow()
    actor.log(session, "change", "school-rollover", fields=("enrolment",), detail=f"{rollover.from_year}→{rollover.to_year}年度の年度更新を取り消し")
    session.flush()
    return rollover


def _state(member: Member) -> list:
    return [member.status, member.signin_until.isoformat() if member.signin_until else None, member.school_id]


def year_row(session: Session, year: int) -> SchoolYear | None:
    """The school year row, if any (for the wizard)."""
    return directory.find_year(session, year)
