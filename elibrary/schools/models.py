"""The school model (学校): schools, school years (年度), classes (学年・組), members and their enrolments.

A member's account is a ``Patron`` (``source="school"``, category ``student`` or ``teacher``), so every
lending rule keeps working. The member row holds what never changes with a move up or a transfer: the
internal id, the login id (random, without any school, grade or class code) and the roster's sourcedId.
Grade, class and attendance number (出席番号) belong to one year's ``Enrolment``.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from elibrary.db import Base, UTCDateTime, utcnow

# School kinds: code -> (Japanese, English, highest grade).
KINDS = {
    "elementary": ("小学校", "Elementary school", 6),
    "junior_high": ("中学校", "Junior high school", 3),
    "compulsory": ("義務教育学校", "Compulsory education school", 9),
    "special_needs": ("特別支援学校", "Special needs school", 12),
}
ROLES = ("pupil", "teacher")
STATUSES = ("active", "graduated", "left")


class School(Base):
    """A school of the city (学校), found by its code (学校コード)."""

    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="elementary")  # a key of KINDS
    sourced_id: Mapped[str | None] = mapped_column(String(255), unique=True)  # OneRoster orgs.sourcedId
    furigana_max_grade: Mapped[int] = mapped_column(Integer, default=2)  # ruby on interface text up to this grade (0: none)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SchoolYear(Base):
    """A school year (年度), April to March, named by the calendar year it starts in (2026 = 2026年度)."""

    __tablename__ = "school_years"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    sourced_id: Mapped[str | None] = mapped_column(String(255), unique=True)  # OneRoster academicSessions.sourcedId


class SchoolClass(Base):
    """A class (学級: 学年・組) of one school in one school year."""

    __tablename__ = "school_classes"
    __table_args__ = (UniqueConstraint("school_id", "year_id", "grade", "name", name="uq_school_classes_grade_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    year_id: Mapped[int] = mapped_column(ForeignKey("school_years.id", ondelete="CASCADE"), index=True)
    grade: Mapped[int] = mapped_column(Integer)  # 学年 within the school (1..6 at 小, 1..3 at 中, 1..9 at 義務教育)
    name: Mapped[str] = mapped_column(String(40))  # 組: "1", "2", "さくら" ...
    sourced_id: Mapped[str | None] = mapped_column(String(255), unique=True)  # OneRoster classes.sourcedId


class Member(Base):
    """A pupil or teacher of the city's schools, whose account is a patron.

    ``id`` and ``login_id`` never change: not with a move up, not with a transfer to another school.
    """

    __tablename__ = "school_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"), unique=True)
    role: Mapped[str] = mapped_column(String(10), default="pupil")  # pupil, teacher
    login_id: Mapped[str] = mapped_column(String(40), unique=True)  # pseudonymous: no school, grade or class in it
    sourced_id: Mapped[str | None] = mapped_column(String(255), unique=True)  # OneRoster users.sourcedId
    kana_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted like the patron's name
    birth_date_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # rarely given; age is estimated from the grade
    status: Mapped[str] = mapped_column(String(12), default="active", index=True)  # active, graduated, left
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="SET NULL"), index=True)  # current school
    signin_until: Mapped[date | None] = mapped_column(Date)  # graduates: sign-in stops after this day, then erased
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Enrolment(Base):
    """One member's place in one school year: school, class, grade and attendance number (出席番号)."""

    __tablename__ = "school_enrolments"
    __table_args__ = (UniqueConstraint("member_id", "year_id", name="uq_school_enrolments_member_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("school_members.id", ondelete="CASCADE"), index=True)
    year_id: Mapped[int] = mapped_column(ForeignKey("school_years.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    class_id: Mapped[int | None] = mapped_column(ForeignKey("school_classes.id", ondelete="SET NULL"), index=True)
    grade: Mapped[int | None] = mapped_column(Integer)
    number: Mapped[int | None] = mapped_column(Integer)  # 出席番号
    sourced_id: Mapped[str | None] = mapped_column(String(255), unique=True)  # OneRoster enrollments.sourcedId


class Rollover(Base):
    """One April roll-over (年度更新) as applied, with what is needed to undo it.

    ``undo`` holds, per member, the state before (status, school, sign-in cut-off); the new year's
    enrolments are deleted on undo. Undo is refused once a pupil has signed in after ``applied_at``.
    """

    __tablename__ = "school_rollovers"

    id: Mapped[int] = mapped_column(primary_key=True)
    from_year: Mapped[int] = mapped_column(Integer)
    to_year: Mapped[int] = mapped_column(Integer, index=True)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    applied_by: Mapped[str] = mapped_column(String(254), default="")
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    summary: Mapped[dict] = mapped_column(JSON, default=dict)  # counts: promoted, graduated, transferred ...
    undo: Mapped[dict] = mapped_column(JSON, default=dict)
