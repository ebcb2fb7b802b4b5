"""Licence lifecycle advice (更新判断): licences that need a decision, with loans so far, cost per loan,
holds waiting and plain-Japanese advice — renew, buy another copy, switch to another offer, or let lapse.

Loans so far: a metered-loans licence counts them itself (total − remaining); for other models the
title's borrow events since the licence was bought are counted (exact when the title has one licence).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from elibrary.catalog.models import Title
from elibrary.db import utcnow
from elibrary.lending.models import Hold, HoldState, LendingEvent, License, LicenseModel
from elibrary.selection.funds import require_selector
from elibrary.selection.models import LicenseCost, PoolOffer, PoolTitle

DEFAULT_DAYS = 60
FEW_LOANS = 5
NEVER_BORROWED_DAYS = 180


@dataclass
class Advice:
    """One licence that needs a decision."""

    license: License
    title: Title
    reasons: list[str]
    loans: int
    cost: int | None  # yen, tax included; None when the price was never entered
    holds: int
    advice_ja: str
    advice_en: str
    offer: PoolOffer | None  # the pool offer to put on a list (renewal, another copy, or a cheaper one)

    @property
    def cost_per_loan(self) -> int | None:
        """Whole yen per loan so far (None: no price, or never borrowed)."""
        return None if self.cost is None or not self.loans else self.cost // self.loans


def licence_advice(session: Session, staff, *, days: int = DEFAULT_DAYS, hold_ratio: int = 3, now: datetime | None = None) -> list[Advice]:
    """Licences ending within ``days``, with few loans left, on titles with long waits, or never borrowed."""
    require_selector(staff)
    now = now or utcnow()
    holds = dict(session.execute(select(Hold.title_id, func.count()).where(Hold.state == HoldState.waiting).group_by(Hold.title_id)).all())
    rows = session.execute(select(License, Title, LicenseCost).join(Title, Title.id == License.title_id)
                           .outerjoin(LicenseCost, LicenseCost.license_id == License.id).order_by(License.valid_until, License.id)).all()
    copies: dict[int, int] = {}
    for licence, _, _ in rows:
        if licence.stop_reason(now) is None and not licence.is_open:
            copies[licence.title_id] = copies.get(licence.title_id, 0) + (licence.copies or 0)
    borrows = _borrows(session, {lic.title_id for lic, _, _ in rows})
    found = []
    for licence, title, cost in rows:
        if licence.stop_reason(now) is not None and not (licence.valid_until and licence.valid_until > now - timedelta(days=days)):
            continue  # long gone: not a decision any more
        waiting = holds.get(title.id, 0)
        loans = _loans(licence, borrows.get(title.id, []))
        reasons = []
        if licence.model == LicenseModel.metered_time and licence.valid_until and licence.valid_until <= now + timedelta(days=days):
            reasons.append(f"期限 {licence.valid_until.date().isoformat()}")
        if licence.loans_remaining is not None and licence.loans_remaining <= FEW_LOANS:
            reasons.append(f"残り{licence.loans_remaining}回")
        if copies.get(title.id) and waiting / copies[title.id] > hold_ratio:
            reasons.append(f"予約{waiting}件待ち")
        if loans == 0 and licence.created_at <= now - timedelta(days=NEVER_BORROWED_DAYS):
            reasons.append("貸出実績なし")
        if not reasons:
            continue
        found.append(_advise(session, licence, title, reasons, loans, cost, waiting))
    return found


def _borrows(session: Session, title_ids: set[int]) -> dict[int, list]:
    if not title_ids:
        return {}
    rows = session.execute(select(LendingEvent.title_id, LendingEvent.occurred_on)
                           .where(LendingEvent.kind == "borrow", LendingEvent.title_id.in_(list(title_ids))))
    found: dict[int, list] = {}
    for title_id, day in rows:
        found.setdefault(title_id, []).append(day)
    return found


def _loans(licence: License, borrow_days: list) -> int:
    if licence.loans_total is not None and licence.loans_remaining is not None:
        return licence.loans_total - licence.loans_remaining
    bought = licence.created_at.date()
    return sum(1 for day in borrow_days if day >= bought)


def _advise(session: Session, licence: License, title: Title, reasons: list[str], loans: int, cost: LicenseCost | None,
            holds: int) -> Advice:
    paid = cost.price + cost.tax if cost is not None else None
    offers = []
    if title.isbn:
        offers = list(session.scalars(select(PoolOffer).join(PoolTitle, PoolTitle.id == PoolOffer.pool_title_id)
                                      .where(PoolTitle.isbn == title.isbn, PoolOffer.withdrawn.is_(False), PoolOffer.price.is_not(None))
                                      .order_by(PoolOffer.price)))
    same = next((o for o in offers if o.model == licence.model.value), None)
    cheapest = offers[0] if offers else None
    if loans == 0 and holds == 0:
        ja, en, offer = "貸出がありません。更新せず期限切れにすることを検討してください。", "Never borrowed: consider letting it lapse.", None
    elif holds and "予約" in " ".join(reasons):
        ja, en, offer = (f"予約が{holds}件待っています。もう1点購入してください。", f"{holds} holds waiting: buy another copy.", same or cheapest)
    elif same and cheapest and cheapest is not same and cheapest.price < same.price:
        ja = f"更新するなら、より安い条件（{cheapest.distributor} ¥{cheapest.price:,}）への切り替えを検討してください。"
        en, offer = f"To renew, consider the cheaper offer ({cheapest.distributor} ¥{cheapest.price:,}).", cheapest
    else:
        ja, en, offer = "よく読まれています。同じ条件で更新してください。", "Well used: renew on the same terms.", same or cheapest
    return Advice(licence, title, reasons, loans, paid, holds, ja, en, offer)
