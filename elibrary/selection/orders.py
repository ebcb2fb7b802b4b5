"""Orders (発注) from a list to one distributor, the order CSV and PDF, cancelling lines, and receiving.

The money of an order is its lines' sum per tax rate plus the tax computed once per rate
(``money.tax_summary``); it is committed when ordered, given back line by line when cancelled (the
difference of the order's total before and after), and moved from committed to spent when received.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from elibrary.errors import Conflict, InvalidInput, NotFound
from elibrary.lending.policy import TOKYO
from elibrary.selection.funds import balances, record, require_admin, require_selector
from elibrary.selection.models import (
    Decision,
    Fund,
    MoneyKind,
    Order,
    OrderLine,
    OrderState,
    PoolOffer,
    SelectionLine,
)
from elibrary.selection.money import TaxSummary, tax_summary
from elibrary.selection.offers import OfferTerms


class Overspend(Conflict):
    """The order would take a fund below zero; an admin may confirm it."""

    code = "overspend"


def order_totals(order: Order) -> TaxSummary:
    """The order's money as it stands (cancelled lines left out)."""
    return lines_total(order, (OrderState.ordered, OrderState.received))


def lines_total(order: Order, states) -> TaxSummary:
    """The money of the order's lines in ``states``, tax once per rate over them.

    Committed money is the total of the lines still on order and spent money that of the lines received;
    each change moves the difference of those totals, so when every line is received (or cancelled) the
    fund holds exactly the order's total, whatever the order the lines arrived in.
    """
    return tax_summary([(line.amount, line.tax_rate) for line in order.lines if line.state in states], order.tax_rounding)


def _lines_to_order(session: Session, list_id: int, fund_id: int, distributor: str) -> list[SelectionLine]:
    lines = list(session.scalars(
        select(SelectionLine).join(PoolOffer, PoolOffer.id == SelectionLine.offer_id)
        .where(SelectionLine.list_id == list_id, SelectionLine.fund_id == fund_id, SelectionLine.decision == Decision.adopted,
               PoolOffer.distributor == distributor)
        .options(selectinload(SelectionLine.offer).selectinload(PoolOffer.pool_title)).order_by(SelectionLine.id)))
    if not lines:
        raise InvalidInput("この提供元・予算で「採用」の行がありません。", "No adopted lines for this distributor and fund.")
    for line in lines:
        if line.offer.withdrawn:
            raise Conflict(f"「{line.offer.pool_title.title[:40]}」は提供元が取り下げました。行を見直してください。",
                           f"{line.offer.pool_title.title[:40]!r} was withdrawn by the distributor; review the line.")
        if line.offer.price is None:
            raise Conflict(f"「{line.offer.pool_title.title[:40]}」の価格が未定です。", f"{line.offer.pool_title.title[:40]!r} has no price.")
    return lines


def make_order(session: Session, staff, list_id: int, fund_id: int, distributor: str, *, rounding: str,
               confirm_overspend: bool = False) -> Order:
    """Order a list's adopted lines of one distributor and fund; commits the money to the fund."""
    require_selector(staff)
    fund = session.get(Fund, fund_id)
    if fund is None:
        raise NotFound("予算が見つかりません。", "No such fund.")
    lines = _lines_to_order(session, list_id, fund_id, distributor)
    summary = tax_summary([(line.quantity * line.offer.price, line.offer.tax_rate) for line in lines], rounding)
    remaining = balances(session, [fund_id])[fund_id].remaining
    if summary.total > remaining:
        if not confirm_overspend:
            raise Overspend(f"この発注（¥{summary.total:,}）は予算「{fund.name}」の残額（¥{remaining:,}）を超えます。管理者が確認すれば発注できます。",
                            f"This order (¥{summary.total:,}) exceeds what remains of {fund.name} (¥{remaining:,}); an admin may confirm it.",
                            total=summary.total, remaining=remaining)
        require_admin(staff)
    order = Order(number=_next_number(session, fund.fiscal_year), list_id=list_id, fund_id=fund_id, distributor=distributor,
                  tax_rounding=rounding, created_by=staff.id)
    for line in lines:
        offer, pool_title = line.offer, line.offer.pool_title
        order.lines.append(OrderLine(
            offer_id=offer.id, pool_title_id=pool_title.id, description=pool_title.title[:600], isbn=pool_title.isbn,
            terms={"model": offer.model, "copies": offer.copies, "loans": offer.loans, "term_months": offer.term_months,
                   "offer_code": offer.offer_code, "note": line.note},
            quantity=line.quantity, unit_price=offer.price, tax_rate=offer.tax_rate))
        line.decision = Decision.ordered
    session.add(order)
    session.flush()
    record(session, fund_id, MoneyKind.committed, summary.total, order_id=order.id, staff_id=staff.id, note=f"発注 {order.number}")
    return order


def _next_number(session: Session, fiscal_year: int) -> str:
    prefix = f"{fiscal_year}-"
    count = session.scalar(select(func.count()).select_from(Order).where(Order.number.like(prefix + "%"))) or 0
    return f"{prefix}{count + 1:04d}"


def get_order(session: Session, staff, order_id: int) -> Order:
    """One order with its lines."""
    require_selector(staff)
    order = session.scalar(select(Order).where(Order.id == order_id).options(selectinload(Order.lines)))
    if order is None:
        raise NotFound("発注が見つかりません。", "No such order.")
    return order


def all_orders(session: Session, staff) -> list[Order]:
    """Every order, newest first."""
    require_selector(staff)
    return list(session.scalars(select(Order).options(selectinload(Order.lines), selectinload(Order.fund)).order_by(Order.id.desc())))


def cancel_line(session: Session, staff, order_line_id: int) -> OrderLine:
    """Cancel an ordered line: the order's total is recomputed and the difference returned to the fund."""
    require_selector(staff)
    line = session.get(OrderLine, order_line_id)
    if line is None:
        raise NotFound("発注行が見つかりません。", "No such order line.")
    order = line.order
    if line.state != OrderState.ordered or order.state != OrderState.ordered:
        raise Conflict("納品済み・取消済みの行は取り消せません。", "Only lines still on order can be cancelled.")
    before = lines_total(order, (OrderState.ordered,)).total
    line.state = OrderState.cancelled
    after = lines_total(order, (OrderState.ordered,)).total
    if all(item.state == OrderState.cancelled for item in order.lines):
        order.state = OrderState.cancelled
    elif not any(item.state == OrderState.ordered for item in order.lines):
        order.state = OrderState.received
    session.flush()
    record(session, order.fund_id, MoneyKind.committed, after - before, order_id=order.id, staff_id=staff.id,
           note=f"取消 {order.number}: {line.description[:80]}")
    return line


def terms_of(line: OrderLine) -> OfferTerms:
    """The licence terms a line was ordered with."""
    terms = line.terms or {}
    return OfferTerms(line.order.distributor, terms.get("offer_code", ""), terms.get("model", "one-copy"), terms.get("copies"),
                      terms.get("loans"), terms.get("term_months"), line.unit_price, line.tax_rate)


def valid_until(term_months: int | None, received: datetime) -> date | None:
    """A metered-time licence runs from delivery for its term (a month counted as 30 days)."""
    if not term_months:
        return None
    return received.astimezone(TOKYO).date() + timedelta(days=30 * term_months)
