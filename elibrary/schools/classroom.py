"""The class shelf (クラスの本棚): class sets for reading together (一斉読書) and assigned reading (課題図書).

A class set never lends by itself. Each pupil who opens it borrows it like any loan, under the lending
rules that exist (so no copy is ever lent twice): on a concurrent or time-limited licence one seat per pupil
who opens it, on a loan-limited licence one of its loans per pupil, on an open licence nothing. A one-copy
licence cannot serve a class and is refused with the reason. ``seat_plan`` says all this to the teacher
before they confirm, with the seats free now and the class size.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from elibrary.catalog.models import Title
from elibrary.db import utcnow
from elibrary.errors import Conflict, Forbidden, InvalidInput, NotFound
from elibrary.lending.licenses import license_usage
from elibrary.lending.models import LicenseModel, Loan
from elibrary.lending.policy import tokyo_today
from elibrary.schools.directory import Actor, school_year_of
from elibrary.schools.models import Enrolment, Member, School, SchoolClass, SchoolYear
from elibrary.schools.shelf_models import SHELF_KINDS, ClassShelfItem

MAX_DAYS = 180


@dataclass(frozen=True)
class SeatPlan:
    """What a class set of a title would use, in words for the teacher (Japanese, English)."""

    allowed: bool
    summary_ja: str
    summary_en: str
    seats: int | None  # simultaneous readers the licences allow (None: any number)
    free_now: int | None
    loans_left: int | None
    class_size: int
    classroom_display: bool  # 提示: some licence of the title allows showing it on a classroom screen


def _is_staff_of(staff, school: School) -> bool:
    role = getattr(staff.role, "value", staff.role)
    return role in ("admin", "librarian") or (role == "teacher" and staff.school_code == school.code)


def class_of(session: Session, staff, class_id: int) -> tuple[SchoolClass, School]:
    """A class the staff member may manage: librarians any, a teacher only their own school's."""
    found = session.get(SchoolClass, class_id)
    school = session.get(School, found.school_id) if found is not None else None
    if found is None or school is None:
        raise NotFound("このクラスはありません。", "No such class.")
    if not _is_staff_of(staff, school):
        raise Forbidden("ほかの学校のクラスは見られません。", "You cannot see another school's classes.")
    return found, school


def classes_for(session: Session, staff, now: datetime | None = None) -> list[tuple[SchoolClass, School, int]]:
    """This 年度's classes the staff member may manage, with their pupil counts."""
    year = school_year_of(tokyo_today(now or utcnow()))
    query = (select(SchoolClass, School, func.count(Enrolment.id)).join(School, School.id == SchoolClass.school_id)
             .join(SchoolYear, SchoolYear.id == SchoolClass.year_id).outerjoin(Enrolment, Enrolment.class_id == SchoolClass.id)
             .where(SchoolYear.year == year).group_by(SchoolClass.id, School.id).order_by(School.code, SchoolClass.grade, SchoolClass.name))
    if getattr(staff.role, "value", staff.role) == "teacher":
        query = query.where(School.code == (staff.school_code or ""))
    return [(row[0], row[1], int(row[2])) for row in session.execute(query)]


def class_size(session: Session, class_id: int) -> int:
    """Pupils enrolled in the class."""
    query = (select(func.count()).select_from(Enrolment).join(Member, Member.id == Enrolment.member_id)
             .where(Enrolment.class_id == class_id, Member.role == "pupil", Member.status == "active"))
    return int(session.scalar(query) or 0)


def seat_plan(session: Session, title_id: int, size: int, now: datetime | None = None) -> SeatPlan:
    """What a class set of ``title_id`` for ``size`` pupils would use, before the teacher confirms."""
    now = now or utcnow()
    usage = [(lic, on_loan, held) for lic, on_loan, held in license_usage(session, title_id) if lic.stop_reason(now) is None]
    display = any(lic.classroom_display for lic, _, _ in usage)
    if not usage:
        return SeatPlan(False, "この本はいま貸出できるライセンスがありません。", "This title has no licence that lends now.", 0, 0, None, size, display)
    if any(lic.model == LicenseModel.open for lic, _, _ in usage):
        return SeatPlan(True, f"読み放題の本です。クラス{size}人が同時に読めます。席や回数は使いません。",
                        f"An open title: all {size} pupils can read it at once; no seats or loans are used.", None, None, None, size, display)
    shared = [(lic, on_loan, held) for lic, on_loan, held in usage if lic.model != LicenseModel.one_copy]
    if not shared:
        return SeatPlan(False, "1人ずつしか読めないライセンス（ワンコピー）なので、一斉読書には使えません。課題図書にすると、順番に借りられます。",
                        "A one-copy licence serves one reader at a time: it cannot be a class set. Assign it as reading instead.",
                        1, None, None, size, display)
    seats = sum(lic.copies or 0 for lic, _, _ in shared)
    free = sum(max(0, (lic.copies or 0) - on_loan - held) for lic, on_loan, held in shared)
    metered = [lic for lic, _, _ in shared if lic.model == LicenseModel.metered_loans]
    loans_left = sum(lic.loans_remaining or 0 for lic in metered) if metered else None
    ja = f"開いた児童生徒1人につき1席を使います（貸出と同じです）。同時に読めるのは{seats}人まで、いま空いているのは{free}席です。クラスは{size}人です。"
    en = f"Each pupil who opens it takes one seat (a loan). {seats} can read at once; {free} seats are free now. The class has {size} pupils."
    if seats < size:
        ja += f"全員が同時には読めません（{size - seats}人は待ちます）。"
        en += f" Not everyone at once: {size - seats} will wait."
    if loans_left is not None:
        ja += f"回数制限のライセンスは、開いた人数分の貸出回数を使います（最大{size}回、残り{loans_left}回）。"
        en += f" Loan-limited licences use one loan per pupil who opens it (up to {size}; {loans_left} left)."
    return SeatPlan(True, ja, en, seats, free, loans_left, size, display)


def add_to_shelf(session: Session, staff, class_id: int, title_id: int, kind: str, starts_on: date, ends_on: date,
                 note: str = "", *, address: str | None = None, now: datetime | None = None) -> ClassShelfItem:
    """Put a title on a class's shelf as a class set or assigned reading (a class set only where its licences allow)."""
    school_class, _ = class_of(session, staff, class_id)
    if kind not in SHELF_KINDS:
        raise InvalidInput("種類を選んでください（一斉読書・課題図書）。", "Choose class set or assigned reading.", field="kind")
    if ends_on < starts_on or (ends_on - starts_on).days > MAX_DAYS:
        raise InvalidInput(f"期間は開始日から{MAX_DAYS}日以内で、終わりが始まりより後の日にしてください。",
                           f"The period ends after it starts and lasts at most {MAX_DAYS} days.", field="ends_on")
    title = session.get(Title, title_id)
    if title is None:
        raise NotFound("本が見つかりません。", "No such title.")
    if kind == "class_set":
        plan = seat_plan(session, title_id, class_size(session, class_id), now)
        if not plan.allowed:
            raise Conflict(plan.summary_ja, plan.summary_en)
    if session.scalar(select(ClassShelfItem.id).where(ClassShelfItem.class_id == class_id, ClassShelfItem.title_id == title_id,
                                                      ClassShelfItem.kind == kind)):
        raise Conflict("この本はもうクラスの本棚にあります。", "The title is already on the class shelf.")
    item = ClassShelfItem(class_id=school_class.id, title_id=title_id, kind=kind, starts_on=starts_on, ends_on=ends_on,
                          note=note.strip()[:200], created_by=getattr(staff, "id", None))
    session.add(item)
    session.flush()
    Actor(getattr(staff, "id", None), getattr(staff, "email", "cli"), address).log(
        session, "change", "class-shelf", detail=f"class {class_id}: {kind} title {title_id} {starts_on}..{ends_on}")
    return item


def remove_from_shelf(session: Session, staff, item_id: int, *, address: str | None = None) -> ClassShelfItem:
    """Take a title off a class's shelf (loans already made run to their due dates)."""
    item = session.get(ClassShelfItem, item_id)
    if item is None:
        raise NotFound("クラスの本棚にありません。", "Not on the class shelf.")
    class_of(session, staff, item.class_id)
    session.delete(item)
    session.flush()
    Actor(getattr(staff, "id", None), getattr(staff, "email", "cli"), address).log(
        session, "change", "class-shelf", detail=f"class {item.class_id}: removed title {item.title_id}")
    return item


def shelf_of_class(session: Session, class_id: int, today: date | None = None) -> list[tuple[ClassShelfItem, Title]]:
    """The class's shelf: current items (or all, without ``today``), class sets first, then by date."""
    query = select(ClassShelfItem, Title).join(Title, Title.id == ClassShelfItem.title_id).where(ClassShelfItem.class_id == class_id)
    if today is not None:
        query = query.where(ClassShelfItem.starts_on <= today, ClassShelfItem.ends_on >= today)
    rows = session.execute(query.order_by(ClassShelfItem.kind.desc(), ClassShelfItem.ends_on, ClassShelfItem.id)).all()
    return [(row[0], row[1]) for row in rows]


def titles_on_loan(session: Session, patron) -> set[int]:
    """The titles a pupil has on loan now (the shelf says 「つづきを読む」 for them)."""
    return set(session.scalars(select(Loan.title_id).where(Loan.patron_id == patron.id)))


@dataclass(frozen=True)
class PupilPlace:
    """Where a signed-in pupil is this 年度: school, class and grade (for the children's home)."""

    member: Member
    school: School
    school_class: SchoolClass | None
    grade: int | None

    @property
    def furigana(self) -> bool:
        """Ruby on the interface text for this pupil (the school's setting by grade)."""
        return self.grade is not None and self.grade <= (self.school.furigana_max_grade or 0)


def place_of(session: Session, patron, now: datetime | None = None) -> PupilPlace | None:
    """The pupil's school and class this 年度, or None for anyone else."""
    member = session.scalar(select(Member).where(Member.patron_id == patron.id))
    if member is None or member.school_id is None:
        return None
    year = school_year_of(tokyo_today(now or utcnow()))
    row = session.execute(select(Enrolment, SchoolClass).outerjoin(SchoolClass, SchoolClass.id == Enrolment.class_id)
                          .join(SchoolYear, SchoolYear.id == Enrolment.year_id)
                          .where(Enrolment.member_id == member.id, SchoolYear.year == year)).first()
    school = session.get(School, member.school_id)
    if school is None:
        return None
    return PupilPlace(member, school, row[1] if row else None, row[0].grade if row else None)
