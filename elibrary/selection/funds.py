"""Funds (予算) per 年度 and their money: every change is a ``FundMovement`` row, totals are sums.

allocation − committed − spent = remaining. An order adds to committed; receiving moves its amount from
committed to spent; cancelling a line gives its money back. Staff only: librarians and admins.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from elibrary.errors import Conflict, Forbidden, InvalidInput, NotFound
from elibrary.selection.models import Fund, FundMovement, MoneyKind

SELECTOR_ROLES = ("admin", "librarian")


def require_selector(staff) -> None:
    """Selection and acquisitions are for librarians and admins (checked in every service, not only the page)."""
    role = getattr(getattr(staff, "role", None), "value", None)
    if not getattr(staff, "is_staff", False) or role not in SELECTOR_ROLES:
        raise Forbidden("選書・発注は司書または管理者のみが行えます。", "Only librarians and admins may select and order.")


def require_admin(staff) -> None:
    """Confirming an overspend is an admin's decision."""
    require_selector(staff)
    if staff.role.value != "admin":
        raise Forbidden("予算超過の確定は管理者のみが行えます。", "Only an admin may confirm an order that overspends a fund.")


@dataclass(frozen=True)
class FundBalance:
    """A fund's amounts in yen (tax included)."""

    fund: Fund
    allocation: int
    committed: int
    spent: int

    @property
    def remaining(self) -> int:
        """What can still be ordered."""
        return self.allocation - self.committed - self.spent


def create_fund(session: Session, staff, fiscal_year: int, name: str, allocation: int) -> Fund:
    """A new fund of ``fiscal_year`` with its first allocation."""
    require_selector(staff)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput("予算の名前を100字以内で入力してください。", "Give the fund a name of up to 100 characters.", field="name")
    if not 2000 <= fiscal_year <= 2100:
        raise InvalidInput("年度が正しくありません。", "The fiscal year is not valid.", field="fiscal_year")
    if session.scalar(select(Fund).where(Fund.fiscal_year == fiscal_year, Fund.name == name)):
        raise Conflict("同じ年度に同じ名前の予算があります。", "A fund of that name exists in that year.", field="name")
    fund = Fund(fiscal_year=fiscal_year, name=name)
    session.add(fund)
    session.flush()
    allocate(session, staff, fund.id, allocation, note="当初配分")
    return fund


def allocate(session: Session, staff, fund_id: int, amount: int, note: str = "") -> FundMovement:
    """Add to (or, negative, take from) a fund's allocation."""
    require_selector(staff)
    if session.get(Fund, fund_id) is None:
        raise NotFound("予算が見つかりません。", "No such fund.")
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise InvalidInput("金額は円単位の整数で入力してください。", "Amounts are whole yen.", field="amount")
    return record(session, fund_id, MoneyKind.allocation, amount, staff_id=staff.id, note=note)


def record(session: Session, fund_id: int, kind: MoneyKind, amount: int, *, order_id: int | None = None,
           staff_id: int | None = None, note: str = "") -> FundMovement:
    """Write one money movement (the only way a fund's amounts change)."""
    movement = FundMovement(fund_id=fund_id, kind=kind, amount=int(amount), order_id=order_id, staff_id=staff_id, note=note[:200])
    session.add(movement)
    session.flush()
    return movement


def balances(session: Session, fund_ids=None, fiscal_year: int | None = None) -> dict[int, FundBalance]:
    """Each fund's allocation, committed and spent, summed from its movements in one query."""
    sums = {kind: func.coalesce(func.sum(case((FundMovement.kind == kind, FundMovement.amount), else_=0)), 0)
            for kind in MoneyKind}
    query = (select(Fund, sums[MoneyKind.allocation], sums[MoneyKind.committed], sums[MoneyKind.spent])
             .outerjoin(FundMovement, FundMovement.fund_id == Fund.id).group_by(Fund.id).order_by(Fund.fiscal_year.desc(), Fund.id))
    if fund_ids is not None:
        query = query.where(Fund.id.in_(list(fund_ids)))
    if fiscal_year is not None:
        query = query.where(Fund.fiscal_year == fiscal_year)
    return {fund.id: FundBalance(fund, int(a), int(c), int(s)) for fund, a, c, s in session.execute(query)}


def funds(session: Session, fiscal_year: int | None = None) -> list[Fund]:
    """The funds (of one year), newest year first."""
    query = select(Fund).order_by(Fund.fiscal_year.desc(), Fund.id)
    if fiscal_year is not None:
        query = query.where(Fund.fiscal_year == fiscal_year)
    return list(session.scalars(query))


def movements(session: Session, fund_id: int) -> list[FundMovement]:
    """A fund's movements, oldest first (the audit trail of its money)."""
    return list(session.scalars(select(FundMovement).where(FundMovement.fund_id == fund_id).order_by(FundMovement.id)))
