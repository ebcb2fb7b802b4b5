"""Sign-in cards (ログインカード): a PDF per class, A4, ten cards to cut out, each with the school, grade, class
and number, the login id, the password, the one-time SSO link code and the QR code that signs the pupil in.

Printing a card *issues* it: the QR token and the link code are stored only as hashes, so each printing
makes new ones and the cards printed before stop working (``signin_tokens.issue_cards``). Passwords are
stored only as hashes too: a password printed on a card is either the initial one the roster import has
just made (``CardEntry.password`` given by the caller) or a new one (``reset_passwords``); otherwise the
card says the password is unchanged.

Staff reach the cards of the classes they may see only (``may_manage_school``): teachers their own school.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import segno
from reportlab.platypus import Flowable
from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.errors import Forbidden, InvalidInput, NotFound
from elibrary.schools.accounts import fresh_passwords
from elibrary.schools.models import Enrolment, Member, School, SchoolClass, SchoolYear
from elibrary.schools.signin_tokens import issue_cards, qr_url
from elibrary.security.crypto import DataCipher

QR_MASK = 2
CARDS_PER_PAGE = 10  # 2 columns × 5 rows: about 91 × 55 mm, a business card


@dataclass(frozen=True)
class CardEntry:
    """What one card shows (its secrets are printed once and never stored as they are)."""

    patron_id: int
    school_name: str
    grade: int | None
    class_name: str | None
    number: int | None
    login_id: str
    password: str | None
    link_code: str
    url: str

    @property
    def place(self) -> str:
        """「3年2組 5番」."""
        parts = []
        if self.grade:
            parts.append(f"{self.grade}年")
        if self.class_name:
            parts.append(f"{self.class_name}組" if self.class_name.isdigit() else self.class_name)
        text = "".join(parts)
        return f"{text} {self.number}番" if self.number else text


@dataclass(frozen=True)
class RoomViewer:
    """A teacher signed in with their school account (a patron of category teacher), in the teacher's room."""

    patron_id: int
    login_id: str
    school_code: str
    role: str = "teacher"


def teacher_of_patron(session: Session, patron_id: int) -> RoomViewer | None:
    """The teacher's-room viewer of a school account that is an active teacher of a school (None otherwise)."""
    row = session.execute(select(Member, School.code).join(School, School.id == Member.school_id)
                          .where(Member.patron_id == patron_id, Member.role == "teacher", Member.status == "active")).first()
    return RoomViewer(patron_id, row[0].login_id, row[1]) if row else None


def may_manage_school(staff, school_code: str) -> bool:
    """Admins and librarians manage every school's cards; a teacher only their own school's."""
    role = getattr(staff.role, "value", staff.role)
    if role in ("admin", "librarian"):
        return True
    return role == "teacher" and bool(staff.school_code) and staff.school_code == school_code


def parse_class(spec: str | None) -> tuple[int, str] | None:
    """``"3-2"`` (学年-組) as (3, "2"); None for the whole school."""
    if not spec:
        return None
    grade, sep, name = spec.partition("-")
    if not sep or not grade.strip().isdigit() or not name.strip():
        raise InvalidInput("クラスは「学年-組」（例: 3-2）で指定してください。", "Give the class as GRADE-CLASS (e.g. 3-2).", field="class")
    return int(grade), name.strip()


def class_members(session: Session, school: School, year: SchoolYear, grade_class: tuple[int, str] | None,
                  *, patron_ids: Sequence[int] | None = None) -> list[tuple[Member, Enrolment, SchoolClass | None]]:
    """The school's active members enrolled this year (optionally one class, or some accounts), by grade, class and number."""
    query = (select(Member, Enrolment, SchoolClass).join(Enrolment, Enrolment.member_id == Member.id)
             .outerjoin(SchoolClass, SchoolClass.id == Enrolment.class_id)
             .where(Enrolment.school_id == school.id, Enrolment.year_id == year.id, Member.status == "active", Member.school_id == school.id))
    if grade_class is not None:
        query = query.where(SchoolClass.grade == grade_class[0], SchoolClass.name == grade_class[1])
    if patron_ids is not None:
        query = query.where(Member.patron_id.in_(list(patron_ids)))
    rows = session.execute(query).all()
    return sorted(rows, key=lambda r: (r[1].grade or 0, r[2].name if r[2] else "", r[1].number or 0, r[0].login_id))


def card_holders(session: Session, *, school_code: str, year: int, grade_class: tuple[int, str] | None,
                 patron_ids: Sequence[int] | None = None) -> tuple[School, list[tuple[Member, Enrolment, SchoolClass | None]]]:
    """The school and the pupils a card run is for (``NotFound`` if there are none)."""
    school = session.scalar(select(School).where(School.code == school_code))
    year_row = session.scalar(select(SchoolYear).where(SchoolYear.year == year))
    if school is None or year_row is None:
        raise NotFound("その学校または年度はありません。", "No such school or school year.")
    rows = class_members(session, school, year_row, grade_class, patron_ids=patron_ids)
    if not rows:
        raise NotFound("カードを作る児童・生徒がいません。", "There are no pupils to make cards for.")
    return school, rows


def issue_class_cards(session: Session, cipher: DataCipher, *, school_code: str, year: int, grade_class: tuple[int, str] | None, base_url: str,
                      issued_by: str, reset_passwords: bool = True, patron_ids: Sequence[int] | None = None,
                      passwords: Mapping[int, str] | None = None, end_sessions: bool = False,
                      made_before: Sequence[tuple[str, str]] = ()) -> list[CardEntry]:
    """Issue new cards (QR token, link code, and a new password unless ``reset_passwords`` is off) for a class, a school or some pupils.

    ``made_before``: new passwords with their hashes (``accounts.fresh_passwords``), made before the caller's
    writing transaction for a large run; any more that are needed are made here, the spare are dropped."""
    school, rows = card_holders(session, school_code=school_code, year=year, grade_class=grade_class, patron_ids=patron_ids)
    issued = {card.patron_id: card for card in issue_cards(session, cipher, [m.patron_id for m, _, _ in rows], issued_by=issued_by,
                                                           end_sessions=end_sessions)}
    given = dict(passwords or {})
    if reset_passwords:
        given.update(_reset_passwords(session, [m for m, _, _ in rows if m.patron_id not in given], made_before))
    entries = []
    for member, enrolment, school_class in rows:
        password = given.get(member.patron_id)
        card = issued[member.patron_id]
        entries.append(CardEntry(member.patron_id, school.name, enrolment.grade, school_class.name if school_class else None, enrolment.number,
                                 member.login_id, password, card.link_code, qr_url(base_url, card.token)))
    return entries


def _reset_passwords(session: Session, members: Sequence[Member], made_before: Sequence[tuple[str, str]]) -> dict[int, str]:
    """New passwords for many accounts at once (``accounts.reset_password``'s rule: hashed, their sign-ins end).

    One DELETE of their sessions instead of one per account: with a thousand accounts in the session,
    per-account deletes cost more than the password hashes.
    """
    from sqlalchemy import delete

    from elibrary.patrons.models import Patron
    from elibrary.security.sessions import SessionRecord

    patrons = {p.id: p for p in session.scalars(select(Patron).where(Patron.id.in_([m.patron_id for m in members])))}
    made = list(made_before[:len(members)])
    made += fresh_passwords(len(members) - len(made))  # hashed on every core
    passwords = {}
    for member, (password, pin_hash) in zip(members, made, strict=True):
        patrons[member.patron_id].pin_hash = pin_hash
        passwords[member.patron_id] = password
    subjects = [f"p:{patron_id}" for patron_id in passwords]
    for start in range(0, len(subjects), 500):
        session.execute(delete(SessionRecord).where(SessionRecord.subject.in_(subjects[start:start + 500])).execution_options(synchronize_session=False))
    session.flush()
    return passwords


def assert_may_manage(staff, school_code: str) -> None:
    """``Forbidden`` unless ``staff`` may manage the school's cards."""
    if not may_manage_school(staff, school_code):
        raise Forbidden("ほかの学校のカードは扱えません。", "You cannot manage another school's cards.")


def render_cards_pdf(entries: Sequence[CardEntry], settings: Mapping[str, Any] | None, *, title: str, issued_on: date) -> bytes:
    """The cards as an A4 PDF (IPAex Gothic through ``reports.pdf``), ten to a page, with cut lines."""
    from reportlab.platypus import PageBreak, Table, TableStyle

    from elibrary.reports.pdf import new_document

    doc = new_document(title, settings, author=str((settings or {}).get("ELIBRARY_LIBRARY_NAME") or ""))
    library = str((settings or {}).get("ELIBRARY_LIBRARY_NAME") or "電子図書館")
    width, height = 250.0, 144.0  # inside the frame of reports.pdf (its margins and padding)
    for start in range(0, len(entries), CARDS_PER_PAGE):
        page = [SignInCardFlowable(e, doc.fonts.body, library, issued_on, width, height) for e in entries[start:start + CARDS_PER_PAGE]]
        cells = [page[i:i + 2] + [""] * (2 - len(page[i:i + 2])) for i in range(0, len(page), 2)]
        table = Table(cells, colWidths=[width, width], rowHeights=[height + 2] * len(cells))
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, "#999999", None, (3, 3)), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                   ("RIGHTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 1), ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
        doc.add(table)
        if start + CARDS_PER_PAGE < len(entries):
            doc.add(PageBreak())
    return doc.render()


class SignInCardFlowable(Flowable):
    """One card drawn straight on the canvas (fast for a thousand cards): text on the left, the QR code on the right."""

    def __init__(self, entry: CardEntry, font: str, library: str, issued_on: date, width: float, height: float) -> None:
        super().__init__()
        self.entry, self.font, self.library, self.issued_on = entry, font, library, issued_on
        self.width, self.height = width, height

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        """The card's fixed size."""
        return self.width, self.height

    def draw(self) -> None:
        """Draw the card."""
        c, e = self.canv, self.entry
        left, top = 10, self.height - 8
        c.setFillColor("#000000")
        c.setFont(self.font, 8)
        c.drawString(left, top - 8, f"{self.library}　ログインカード")
        c.setFont(self.font, 11)
        c.drawString(left, top - 24, _fit(e.school_name, 15))
        c.setFont(self.font, 13)
        c.drawString(left, top - 41, e.place)
        c.setFont(self.font, 7.5)
        c.drawString(left, top - 58, "ログインID")
        c.setFont(self.font, 15)
        c.drawString(left, top - 75, e.login_id)
        c.setFont(self.font, 7.5)
        c.drawString(left, top - 90, "パスワード")
        c.setFont(self.font, 15 if e.password else 9)
        c.drawString(left, top - 106, e.password or "（かわっていません）")
        c.setFont(self.font, 7)
        c.drawString(left, top - 122, f"学校アカウントとつなぐコード: {e.link_code}")
        c.drawString(left, top - 133, f"発行日 {self.issued_on:%Y-%m-%d}　なくしたら先生に知らせてね")
        side = 96.0
        self._draw_qr(self.width - side - 6, top - side - 14, side)
        c.setFont(self.font, 6.5)
        c.drawCentredString(self.width - side / 2 - 6, top - side - 22, "カメラでよみとってログイン")

    def _draw_qr(self, x: float, y: float, side: float) -> None:
        # A fixed mask: choosing the best of eight is half the time of a thousand cards, and any mask reads.
        rows = list(segno.make(self.entry.url, error="m", mask=QR_MASK).matrix_iter(scale=1, border=2))
        module = side / len(rows)
        c = self.canv
        c.setFillColor("#000000")
        path = c.beginPath()
        for r, row in enumerate(rows):
            start = None
            for col, dark in enumerate(list(row) + [False]):  # runs of dark modules become one rectangle
                if dark and start is None:
                    start = col
                elif not dark and start is not None:
                    path.rect(x + start * module, y + side - (r + 1) * module, (col - start) * module, module)
                    start = None
        c.drawPath(path, stroke=0, fill=1)


def _fit(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


@dataclass(frozen=True)
class ClassSummary:
    """A class offered on the cards page."""

    id: int
    grade: int
    name: str
    pupils: int


@dataclass(frozen=True)
class PupilRow:
    """A pupil on a class's cards page: no name, only the seat and the login id."""

    patron_id: int
    number: int | None
    login_id: str
    card_issued_at: Any
    card_used_at: Any


def classes_of_school(session: Session, staff, school_code: str, year: int) -> tuple[School, list[ClassSummary]]:
    """The school's classes of ``year`` with their pupil counts (``Forbidden`` for another school's teacher)."""
    from sqlalchemy import func

    assert_may_manage(staff, school_code)
    school = session.scalar(select(School).where(School.code == school_code))
    if school is None:
        raise NotFound("その学校コードの学校はありません。", "No school has that code.")
    rows = session.execute(
        select(SchoolClass, func.count(Enrolment.id)).join(SchoolYear, SchoolYear.id == SchoolClass.year_id)
        .outerjoin(Enrolment, Enrolment.class_id == SchoolClass.id).where(SchoolClass.school_id == school.id, SchoolYear.year == year)
        .group_by(SchoolClass.id).order_by(SchoolClass.grade, SchoolClass.name)).all()
    return school, [ClassSummary(c.id, c.grade, c.name, n) for c, n in rows]


def class_pupils(session: Session, staff, school_code: str, class_id: int) -> tuple[School, SchoolClass, list[PupilRow]]:
    """One class's active pupils with their cards' state (``Forbidden``/``NotFound`` outside the staff member's reach)."""
    from elibrary.schools.signin_models import SignInCard

    assert_may_manage(staff, school_code)
    school_class = session.get(SchoolClass, class_id)
    school = session.get(School, school_class.school_id) if school_class is not None else None
    if school is None or school.code != school_code:
        raise NotFound("そのクラスはありません。", "No such class.")
    rows = session.execute(
        select(Member, Enrolment, SignInCard).join(Enrolment, Enrolment.member_id == Member.id)
        .outerjoin(SignInCard, SignInCard.patron_id == Member.patron_id)
        .where(Enrolment.class_id == class_id, Member.status == "active", Member.role == "pupil")).all()
    pupils = [PupilRow(m.patron_id, e.number, m.login_id, c.issued_at if c else None, c.last_used_at if c else None) for m, e, c in rows]
    return school, school_class, sorted(pupils, key=lambda p: (p.number or 0, p.login_id))
