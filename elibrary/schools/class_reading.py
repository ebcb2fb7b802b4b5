"""What a class is reading now, as counts (the teacher's room, 学級の読書): titles and how many of the class's
pupils have each on loan, never which pupil (図書館の自由 holds for children too).

Small cells are hidden: a title borrowed by fewer than ``SMALL_CELL`` pupils of the class is shown as
"<3" and the class's total counts it, so a count never points at one child. Only current loans are
counted: a loan is deleted when it ends, and the de-identified statistics (the ``stats`` wing) hold the past.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from elibrary.catalog.models import Title
from elibrary.lending.models import Loan
from elibrary.schools.models import Enrolment, Member

SMALL_CELL = 3


@dataclass(frozen=True)
class TitleCount:
    """A title the class has on loan; ``pupils`` is None when under ``SMALL_CELL`` (shown as "<3")."""

    title: str
    pupils: int | None

    @property
    def shown(self) -> str:
        """The count as the page shows it."""
        return str(self.pupils) if self.pupils is not None else f"<{SMALL_CELL}"


def class_borrowing(session: Session, class_id: int) -> tuple[int, list[TitleCount]]:
    """(loans of the class's active pupils now, titles with their pupil counts, most borrowed first).

    The caller has checked that the staff member may see the class (``cards.class_pupils``).
    """
    rows = session.execute(
        select(Title.title, func.count(func.distinct(Loan.patron_id)).label("pupils"))
        .join(Loan, Loan.title_id == Title.id).join(Member, Member.patron_id == Loan.patron_id)
        .join(Enrolment, Enrolment.member_id == Member.id)
        .where(Enrolment.class_id == class_id, Member.status == "active", Member.role == "pupil")
        .group_by(Title.id, Title.title)).all()
    total = sum(n for _, n in rows)
    counts = [TitleCount(title, n if n >= SMALL_CELL else None) for title, n in rows]
    return total, sorted(counts, key=lambda c: (-(c.pupils or 0), c.title))
