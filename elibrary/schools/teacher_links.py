"""A teacher's two accounts linked (教員のアカウント連携): their staff account (the teacher's room, class shelves)
and their school account (a patron of category ``teacher``, who borrows).

With the link, one sign-in either way — staff sign-in, or the school account's login id, QR card or SSO — carries
both identities in one session (``web/auth.py``: ``current_patron`` and ``current_staff``), and one sign-out ends
both. A link joins a staff account of role ``teacher`` bound to school X (``StaffUser.school_code``) and an active
roster teacher of school X, never a pupil and never another school's teacher. The roster import makes links by
e-mail (the roster's e-mail equal to the staff account's) and drops links that no longer hold (the teacher left or
moved school); an admin makes or ends one by hand (``elibrary schools link-teacher`` / ``unlink-teacher``).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.errors import Conflict, InvalidInput, NotFound
from elibrary.patrons.models import Patron
from elibrary.schools.accounts import normalize_login_id
from elibrary.schools.directory import Actor
from elibrary.schools.models import Member, School
from elibrary.security.crypto import DataCipher
from elibrary.staff.models import Role, StaffUser


def _teacher_member(session: Session, patron_id: int) -> tuple[Member, str] | None:
    """The active roster teacher behind a patron, with their school's code."""
    row = session.execute(select(Member, School.code).join(School, School.id == Member.school_id)
                          .where(Member.patron_id == patron_id, Member.role == "teacher", Member.status == "active")).first()
    return (row[0], row[1]) if row else None


def link_holds(session: Session, staff: StaffUser, patron: Patron) -> bool:
    """Whether ``staff`` and ``patron`` may be linked: a teacher's staff account and an active teacher of the same school."""
    if staff.role is not Role.teacher or not staff.school_code or patron.category != "teacher":
        return False
    found = _teacher_member(session, patron.id)
    return found is not None and found[1] == staff.school_code


def link_teacher(session: Session, staff_email: str, login_id: str, actor: Actor) -> StaffUser:
    """An admin links a teacher's staff account (by e-mail) to their school account (by login id)."""
    staff = session.scalar(select(StaffUser).where(StaffUser.email == staff_email.strip().lower()))
    if staff is None:
        raise NotFound("その職員アカウントはありません。", "No staff account has that e-mail address.")
    member = session.scalar(select(Member).where(Member.login_id == normalize_login_id(login_id)))
    patron = session.get(Patron, member.patron_id) if member is not None else None
    if patron is None:
        raise NotFound("そのログインIDの学校アカウントはありません。", "No school account has that login id.")
    if not link_holds(session, staff, patron):
        raise InvalidInput("連携できるのは、同じ学校の教員の職員アカウント（役割 teacher）と学校アカウント（教員）だけです。",
                           "Only a teacher's staff account (role teacher) and a teacher's school account of the same school can be linked.")
    other = session.scalar(select(StaffUser).where(StaffUser.patron_id == patron.id, StaffUser.id != staff.id))
    if other is not None:
        raise Conflict("この学校アカウントは別の職員アカウントと連携しています。", "This school account is linked to another staff account.")
    staff.patron_id = patron.id
    actor.log(session, "change", "teacher-link", patron_id=patron.id, fields=("staff_link",), detail=f"link {staff.email}")
    session.flush()
    return staff


def unlink_teacher(session: Session, staff_email: str, actor: Actor) -> bool:
    """End a staff account's link (False when it had none); the next request of a signed-in browser has one identity."""
    staff = session.scalar(select(StaffUser).where(StaffUser.email == staff_email.strip().lower()))
    if staff is None:
        raise NotFound("その職員アカウントはありません。", "No staff account has that e-mail address.")
    if staff.patron_id is None:
        return False
    actor.log(session, "change", "teacher-link", patron_id=staff.patron_id, fields=("staff_link",), detail=f"unlink {staff.email}")
    staff.patron_id = None
    session.flush()
    return True


def sync_roster_links(session: Session, cipher: DataCipher, actor: Actor) -> tuple[int, int]:
    """After a roster import: link each unlinked teacher staff account to the roster teacher of its school with the
    same e-mail, and drop links that no longer hold. Returns (linked, unlinked)."""
    unlinked = 0
    for staff, patron in session.execute(select(StaffUser, Patron).join(Patron, Patron.id == StaffUser.patron_id)).all():
        if not link_holds(session, staff, patron):
            actor.log(session, "change", "teacher-link", patron_id=patron.id, fields=("staff_link",), detail=f"unlink {staff.email} (roster)")
            staff.patron_id = None
            unlinked += 1
    session.flush()
    taken = set(session.scalars(select(StaffUser.patron_id).where(StaffUser.patron_id.is_not(None))))
    linked = 0
    staff_rows = session.scalars(select(StaffUser).where(StaffUser.role == Role.teacher, StaffUser.patron_id.is_(None),
                                                         StaffUser.school_code.is_not(None), StaffUser.active.is_(True))).all()
    for staff in staff_rows:
        rows = session.execute(select(Patron, School.code).join(Member, Member.patron_id == Patron.id).join(School, School.id == Member.school_id)
                               .where(Patron.email_hash == cipher.lookup_hash("email:" + staff.email.lower()), Patron.category == "teacher",
                                      Member.role == "teacher", Member.status == "active", School.code == staff.school_code)).all()
        if len(rows) != 1 or rows[0][0].id in taken:  # two roster teachers with one address: an admin decides
            continue
        staff.patron_id = rows[0][0].id
        taken.add(staff.patron_id)
        actor.log(session, "change", "teacher-link", patron_id=staff.patron_id, fields=("staff_link",), detail=f"link {staff.email} (roster)")
        linked += 1
    session.flush()
    return linked, unlinked
