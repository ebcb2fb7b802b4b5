"""The lending state of titles as OPDS shows it: open access, copies, holds, the patron's loan or hold.

Read in a few batch queries per page from lending's tables (``elibrary.lending.models``); changes go
through ``elibrary.lending.services`` only (see ``views``). ``state`` uses the OPDS words: ``available``,
``unavailable``, ``reserved`` (on the waitlist) and ``ready`` (a copy is kept for the patron).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, and_, bindparam, cast, exists, func, literal_column, null, or_, select, union_all
from sqlalchemy.orm import Session

from elibrary.catalog.models import Title
from elibrary.db import utcnow
from elibrary.lending.models import Hold, HoldState, LendingEvent, License, LicenseModel, Loan
from elibrary.lending.policy import tokyo_today

POPULAR_DAYS = 90
POPULAR_LIMIT = 1000


@dataclass(frozen=True)
class Circulation:
    """What one patron (or an anonymous client) can do with one title now."""

    open_access: bool = False
    lendable: bool = False
    copies_total: int = 0
    copies_available: int = 0
    holds_total: int = 0
    loan: Loan | None = None
    hold: Hold | None = None
    position: int | None = None

    @property
    def state(self) -> str:
        """OPDS availability state."""
        if self.open_access or self.loan is not None:
            return "available"
        if self.hold is not None:
            return "ready" if self.hold.state == HoldState.ready else "reserved"
        return "available" if self.copies_available > 0 else "unavailable"

    @property
    def since(self) -> datetime | None:
        """Start of the patron's loan or hold."""
        if self.loan is not None:
            return self.loan.started_at
        return self.hold.created_at if self.hold is not None else None

    @property
    def until(self) -> datetime | None:
        """End of the patron's loan, or of a ready hold's pick-up window."""
        if self.loan is not None:
            return self.loan.due_at
        return self.hold.ready_until if self.hold is not None else None

    @property
    def downloadable(self) -> bool:
        """The patron may download the file (open titles; loans on a licence allowing DRM-free download)."""
        return self.open_access or (self.loan is not None and bool(self.loan.license and self.loan.license.drm_free_download))

    @property
    def can_read(self) -> bool:
        """The patron may fetch the book file now."""
        return self.open_access or self.loan is not None


def _valid_licence_clause(now: datetime):
    return and_(
        or_(License.valid_until.is_(None), License.valid_until > now),
        or_(License.loans_remaining.is_(None), License.loans_remaining > 0),
    )


def for_titles(session: Session, title_ids: list[int], patron_id: int | None) -> dict[int, Circulation]:
    """The circulation of each title in ``title_ids`` for ``patron_id`` (None: anonymous)."""
    if not title_ids:
        return {}
    now = utcnow()
    licences: dict[int, list[License]] = {}
    for licence in session.scalars(select(License).where(License.title_id.in_(title_ids))):
        if licence.stop_reason(now) is None:
            licences.setdefault(licence.title_id, []).append(licence)
    loans = dict(session.execute(select(Loan.license_id, func.count()).where(Loan.title_id.in_(title_ids)).group_by(Loan.license_id)).all())
    holds = dict(session.execute(select(Hold.title_id, func.count()).where(Hold.title_id.in_(title_ids)).group_by(Hold.title_id)).all())
    ready = dict(
        session.execute(
            select(Hold.license_id, func.count())
            .where(Hold.title_id.in_(title_ids), Hold.state == HoldState.ready)
            .group_by(Hold.license_id)
        ).all()
    )
    my_loans: dict[int, Loan] = {}
    my_holds: dict[int, Hold] = {}
    positions: dict[int, int] = {}
    if patron_id is not None:
        my_loans = {loan.title_id: loan for loan in session.scalars(select(Loan).where(Loan.patron_id == patron_id, Loan.title_id.in_(title_ids)))}
        my_holds = {h.title_id: h for h in session.scalars(select(Hold).where(Hold.patron_id == patron_id, Hold.title_id.in_(title_ids)))}
        positions = hold_positions(session, list(my_holds.values()))
    result = {}
    for title_id in title_ids:
        valid = licences.get(title_id, [])
        is_open = any(licence.is_open for licence in valid)
        copies = sum(licence.copies or 0 for licence in valid if not licence.is_open)
        free = sum(_free(licence, loans.get(licence.id, 0), ready.get(licence.id, 0)) for licence in valid if not licence.is_open)
        hold = my_holds.get(title_id)
        result[title_id] = Circulation(
            open_access=is_open,
            lendable=bool(valid),
            copies_total=copies,
            copies_available=free,
            holds_total=holds.get(title_id, 0),
            loan=my_loans.get(title_id),
            hold=hold,
            position=positions.get(hold.id) if hold is not None else None,
        )
    return result


def _free(licence: License, loans: int, ready: int) -> int:
    # The same rule as ``lending.availability.free_copies``: copies less loans and ready reservations,
    # and never more than the loans a metered licence has left.
    free = (licence.copies or 0) - loans - ready
    if licence.loans_remaining is not None:
        free = min(free, licence.loans_remaining - ready)
    return max(0, free)


def hold_positions(session: Session, holds: list[Hold]) -> dict[int, int]:
    """Each hold's place in its title's waitlist (1 = next)."""
    positions = {}
    for hold in holds:
        before = session.scalar(select(func.count()).where(Hold.title_id == hold.title_id, Hold.queue_seq < hold.queue_seq)) or 0
        positions[hold.id] = before + 1
    return positions


def available_now_clause():
    """SQL condition on ``Title``: open access, or a lendable copy is free right now."""
    now = utcnow()
    valid = _valid_licence_clause(now)
    is_open = exists().where(License.title_id == Title.id, License.model == LicenseModel.open, valid)
    copies = (
        select(func.coalesce(func.sum(License.copies), 0))
        .where(License.title_id == Title.id, License.model != LicenseModel.open, valid)
        .scalar_subquery()
    )
    taken = select(func.count()).where(Loan.title_id == Title.id).scalar_subquery() + (
        select(func.count()).where(Hold.title_id == Title.id, Hold.state == HoldState.ready).scalar_subquery()
    )
    return or_(is_open, copies > taken)


def popular_counts():
    """Subquery (title_id, n): the ``POPULAR_LIMIT`` titles borrowed most in the last ``POPULAR_DAYS`` days."""
    since = tokyo_today(utcnow()) - timedelta(days=POPULAR_DAYS)
    return (
        select(LendingEvent.title_id, func.count().label("n"))
        .where(LendingEvent.kind == "borrow", LendingEvent.occurred_on >= since)
        .group_by(LendingEvent.title_id)
        .order_by(func.count().desc(), LendingEvent.title_id.desc())
        .limit(POPULAR_LIMIT)
        .subquery()
    )


@dataclass(frozen=True)
class PatronStamp:
    """What of a patron's own state a feed shows: loans (due date, renewals) and holds (state), by title."""

    rows: tuple

    @property
    def title_ids(self) -> frozenset[int]:
        """The titles the patron has on loan or on hold: a page showing none of them is the anonymous page."""
        return frozenset(row[2] for row in self.rows)


@dataclass(frozen=True)
class PatronState:
    """What a signed-in feed request reads before serving a kept page (``views.shared_cache``), in one statement.

    ``stamp``: the patron's loans and holds; ``lent``: (event id, title id) of the lending events after
    ``since`` (None: none read), oldest first, at most ``EVENTS_READ`` of them (``complete`` says whether
    that was all); ``newest``: the newest lending event, the watermark of a page rendered now.
    """

    stamp: PatronStamp
    since: int | None
    lent: tuple[tuple[int, int], ...]
    complete: bool
    newest: int

    def lent_since(self, watermark: int, title_ids: frozenset[int]) -> bool:
        """Whether any of ``title_ids`` was borrowed, returned, held or released after ``watermark``.

        A kept page is served to a signed-in patron only when not: a patron who sees a title another
        patron just borrowed sees it taken at once, whichever worker kept the page. (Licences changed by
        staff may still lag by the page cache's lifetime.) When the events read do not cover the page (a
        ``watermark`` older than ``since``, or more events than were read), the answer is yes.
        """
        if self.since is None or watermark < self.since:
            return bool(title_ids)
        if any(event_id > watermark and title_id in title_ids for event_id, title_id in self.lent):
            return True
        return not self.complete and bool(title_ids)


EVENTS_READ = 200  # lending events read after a kept page's watermark; more (a very busy 10 seconds) re-render it


def patron_state(session: Session, patron_id: int, since: int | None) -> PatronState:
    """The patron's loans and holds, the lending events after ``since`` (None: none read) and the newest event.

    One statement on the session's connection: it runs on every signed-in feed request (issue 18), where
    three ORM queries cost more than the kept page saves.
    """
    stamp, lent, newest = [], [], 0
    for row in session.connection().execute(_PATRON_STATE, {"patron_id": patron_id, "since": since}):
        if row[0] == "lent":
            lent.append((row[1], row[2]))
        elif row[0] == "newest":
            newest = row[1] or 0
        else:
            stamp.append(tuple(row))
    lent.sort()
    return PatronState(PatronStamp(tuple(sorted(stamp))), since, tuple(lent[:EVENTS_READ]), len(lent) <= EVENTS_READ, newest)


def lending_watermark(session: Session) -> int:
    """The newest lending event so far (borrow, return, hold, …): taken before a page is rendered."""
    return session.connection().execute(_NEWEST_EVENT).scalar() or 0


# Built once: they run on every signed-in feed request, where building a statement would cost as much as running it.
# Rows of one shape: (kind, id, title id, text, number); a loan's due date and a hold's state as text, for comparing.
_NEWEST_EVENT = select(func.max(LendingEvent.id))
_EVENTS_AFTER = (
    select(LendingEvent.id, LendingEvent.title_id)
    .where(LendingEvent.id > bindparam("since", type_=Integer))  # NULL: no rows
    .order_by(LendingEvent.id)
    .limit(EVENTS_READ + 1)
    .subquery()
)
_PATRON_STATE = union_all(
    select(literal_column("'loan'"), Loan.id, Loan.title_id, cast(Loan.due_at, String), Loan.renewals).where(Loan.patron_id == bindparam("patron_id")),
    select(literal_column("'hold'"), Hold.id, Hold.title_id, cast(Hold.state, String), literal_column("0")).where(Hold.patron_id == bindparam("patron_id")),
    select(literal_column("'lent'"), _EVENTS_AFTER.c.id, _EVENTS_AFTER.c.title_id, cast(null(), String), literal_column("0")),
    select(literal_column("'newest'"), _NEWEST_EVENT.scalar_subquery(), cast(null(), Integer), cast(null(), String), literal_column("0")),
)


def shelf_titles(session: Session, patron_id: int) -> list[Title]:
    """Titles the patron has on loan (soonest due first), then on hold (oldest first)."""
    from sqlalchemy.orm import selectinload

    from elibrary.catalog.models import TitleContributor

    options = (selectinload(Title.contributors).joinedload(TitleContributor.contributor), selectinload(Title.subjects), selectinload(Title.files))
    loaned = session.scalars(
        select(Title).join(Loan, Loan.title_id == Title.id).where(Loan.patron_id == patron_id).order_by(Loan.due_at, Loan.id).options(*options)
    ).all()
    held = session.scalars(
        select(Title).join(Hold, Hold.title_id == Title.id).where(Hold.patron_id == patron_id).order_by(Hold.created_at, Hold.id).options(*options)
    ).all()
    return [*loaned, *held]
