"""What the signed-in patron may do with each title, before they tap (借りられる・予約・借りられない).

One batch of queries for a page of titles (search results, a shelf, a title page): never one query per
title. The decisions mirror ``services.borrow`` and ``services.place_hold``; those still check everything
under the title lock, this only tells the patron in advance.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from elibrary.catalog.models import Audience, Collection, Title, TitleCollection
from elibrary.db import utcnow
from elibrary.errors import DomainError
from elibrary.lending import policy, readability
from elibrary.lending.availability import copies_free
from elibrary.lending.models import Hold, HoldState, License, Loan
from elibrary.patrons.models import Patron


@dataclass(frozen=True)
class Outlook:
    """One title as one patron sees it.

    ``state`` is one of: ``on-loan``, ``ready`` (their hold has a copy kept), ``waiting`` (their hold, at
    ``position``), ``open`` (free to read), ``borrow`` (a copy is free), ``hold`` (all out; ``queue`` people
    wait), ``cannot`` (``reason_ja``/``reason_en`` say why) and ``unavailable`` (nothing lends, or no file yet).
    """

    state: str
    queue: int = 0  # holds on the title
    position: int | None = None
    ready_until: datetime | None = None
    due_at: datetime | None = None
    reason_ja: str = ""
    reason_en: str = ""
    reason: str = ""  # a stable code: no-file, not-lendable, blocked, expired, collection, max-loans, max-holds

    @property
    def may_act(self) -> bool:
        """Whether the page should offer 借りる or 予約する."""
        return self.state in ("borrow", "hold", "ready")


@dataclass
class _TitleFacts:
    lending: bool = False
    is_open: bool = False
    free: bool = False
    has_file: bool = False
    queue: int = 0
    codes: set[str] | None = None
    children: bool = False


def _facts(session: Session, ids: list[int], now: datetime) -> dict[int, _TitleFacts]:
    facts = {title_id: _TitleFacts(codes=set()) for title_id in ids}
    on_loan = select(func.count()).select_from(Loan).where(Loan.license_id == License.id).scalar_subquery()
    reserved = select(func.count()).select_from(Hold).where(Hold.license_id == License.id, Hold.state == HoldState.ready).scalar_subquery()
    for lic, loans, ready in session.execute(select(License, on_loan, reserved).where(License.title_id.in_(ids))):
        if lic.stop_reason(now) is not None:
            continue
        fact = facts[lic.title_id]
        fact.lending = True
        fact.is_open = fact.is_open or lic.is_open
        free = copies_free(lic, loans, ready)
        fact.free = fact.free or free is None or free > 0
    for title_id, count in session.execute(select(Hold.title_id, func.count()).where(Hold.title_id.in_(ids)).group_by(Hold.title_id)):
        facts[title_id].queue = count
    for title_id in readability.readable_titles(session, ids):
        facts[title_id].has_file = True
    return facts


def _collection_facts(session: Session, ids: list[int], facts: dict[int, _TitleFacts]) -> None:
    rows = session.execute(
        select(TitleCollection.title_id, Collection.code).join(Collection, Collection.id == TitleCollection.collection_id)
        .where(TitleCollection.title_id.in_(ids))
    )
    for title_id, code in rows:
        facts[title_id].codes.add(code)
    for title_id in session.scalars(select(Title.id).where(Title.id.in_(ids), Title.audience == Audience.children)):
        facts[title_id].children = True


def outlooks(session: Session, title_ids: list[int], patron: Patron | None = None, *, now: datetime | None = None) -> dict[int, Outlook]:
    """``{title_id: Outlook}`` for a page of titles, as ``patron`` (or an anonymous visitor) sees them."""
    now = now or utcnow()
    ids = list(dict.fromkeys(title_ids))
    if not ids:
        return {}
    facts = _facts(session, ids, now)
    if patron is None or getattr(patron, "is_staff", False) or not isinstance(patron, Patron):
        return {title_id: _general(fact) for title_id, fact in facts.items()}
    _collection_facts(session, ids, facts)
    mine = _patron_state(session, patron, ids)
    rules = policy.category_policy(session, patron.category)
    refusal = _patron_refusal(patron, now)
    return {title_id: _for_patron(fact, mine.get(title_id), rules, refusal, mine) for title_id, fact in facts.items()}


def _general(fact: _TitleFacts) -> Outlook:
    if not fact.lending:
        return Outlook("unavailable", reason="not-lendable", reason_ja="現在貸し出していません。", reason_en="Not available for loan at present.")
    if not fact.has_file:
        return Outlook("unavailable", reason="no-file", reason_ja="読むためのファイルが準備中のため、まだ借りられません。",
                       reason_en="Not ready to read yet, so it cannot be borrowed.")
    if fact.is_open:
        return Outlook("open")
    return Outlook("borrow" if fact.free else "hold", queue=fact.queue)


@dataclass
class _Mine:
    loans: dict[int, Loan]
    holds: dict[int, Hold]
    positions: dict[int, int]
    loan_count: int
    hold_count: int

    def get(self, title_id: int):
        return self.loans.get(title_id), self.holds.get(title_id), self.positions.get(title_id)


def _patron_state(session: Session, patron: Patron, ids: list[int]) -> _Mine:
    loans = {loan.title_id: loan for loan in session.scalars(select(Loan).where(Loan.patron_id == patron.id))}
    holds_all = session.scalars(select(Hold).where(Hold.patron_id == patron.id)).all()
    holds = {hold.title_id: hold for hold in holds_all if hold.title_id in set(ids)}
    positions: dict[int, int] = {}
    if holds:
        ahead = Hold.__table__.alias("ahead")
        mine = Hold.__table__
        rows = session.execute(
            select(mine.c.title_id, func.count(ahead.c.id))
            .join(ahead, (ahead.c.title_id == mine.c.title_id) & (ahead.c.queue_seq <= mine.c.queue_seq))
            .where(mine.c.id.in_([h.id for h in holds.values()]))
            .group_by(mine.c.title_id)
        )
        positions = dict(rows.all())
    return _Mine(loans, holds, positions, len(loans), len(holds_all))


def _patron_refusal(patron: Patron, now: datetime) -> DomainError | None:
    try:
        policy.check_patron_may_borrow(patron, now)
    except DomainError as refused:
        return refused
    return None


def _for_patron(fact: _TitleFacts, own, rules: policy.CategoryPolicy, refusal: DomainError | None, mine: _Mine) -> Outlook:
    loan, hold, position = own
    if loan is not None:
        return Outlook("on-loan", queue=fact.queue, due_at=loan.due_at)
    if hold is not None and hold.state == HoldState.ready:
        return Outlook("ready", queue=fact.queue, ready_until=hold.ready_until)
    if hold is not None:
        return Outlook("waiting", queue=fact.queue, position=position)
    general = _general(fact)
    if general.state == "unavailable":
        return general
    if refusal is not None:
        return _cannot(refusal, fact.queue)
    problem = policy.collection_problem(rules, fact.codes or set(), fact.children, fact.is_open)
    if problem is not None:
        return _cannot(problem, fact.queue)
    if general.state == "open":
        return general
    if general.state == "borrow" and mine.loan_count >= rules.max_loans:
        return Outlook("cannot", queue=fact.queue, reason="max-loans",
                       reason_ja=f"貸出は{rules.max_loans}冊までです。返却すると借りられます。",
                       reason_en=f"You may have {rules.max_loans} loans at a time. Return one to borrow this.")
    if general.state == "hold" and mine.hold_count >= rules.max_holds:
        return Outlook("cannot", queue=fact.queue, reason="max-holds",
                       reason_ja=f"予約は{rules.max_holds}件までです。" if rules.max_holds else "予約はできません。",
                       reason_en=f"You may have {rules.max_holds} holds at a time." if rules.max_holds else "You cannot place holds.")
    return general


def _cannot(refused: DomainError, queue: int) -> Outlook:
    return Outlook("cannot", queue=queue, reason=str(refused.detail.get("reason") or refused.code),
                   reason_ja=refused.message_ja, reason_en=refused.message_en)


def outlook(session: Session, title_id: int, patron: Patron | None = None, *, now: datetime | None = None) -> Outlook:
    """One title's outlook (the title page)."""
    return outlooks(session, [title_id], patron, now=now)[title_id]

