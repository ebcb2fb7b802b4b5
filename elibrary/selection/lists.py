"""Selection lists (選書リスト): lines of offers with quantity, fund, note and who added them; comments;
採用 / 保留 / 不採用; totals against each fund's remaining budget; duplicate warnings."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from elibrary.errors import Conflict, InvalidInput, NotFound
from elibrary.selection.funds import FundBalance, balances, require_selector
from elibrary.selection.models import Decision, Fund, LineComment, PoolOffer, PoolTitle, SelectionLine, SelectionList
from elibrary.selection.money import tax_summary
from elibrary.selection.pool import OWNED_REASONS
from elibrary.staff.models import StaffUser

DECISION_LABELS = {
    Decision.undecided: ("未決", "Undecided"), Decision.adopted: ("採用", "Adopted"), Decision.held: ("保留", "Held"),
    Decision.rejected: ("不採用", "Rejected"), Decision.ordered: ("発注済", "Ordered"),
}
MAX_QUANTITY = 999


@dataclass(frozen=True)
class Warning:
    """Something a selector should know about a line (never blocks it)."""

    code: str  # "owned", "other-list", "withdrawn", "no-price"
    ja: str
    en: str


@dataclass
class FundTotal:
    """A list's lines charged to one fund, tax estimated per rate, against the fund's remaining money."""

    balance: FundBalance | None
    subtotal: int = 0
    tax: int = 0

    @property
    def total(self) -> int:
        """Lines plus tax."""
        return self.subtotal + self.tax

    @property
    def over(self) -> bool:
        """The list would overspend the fund."""
        return self.balance is not None and self.total > self.balance.remaining


@dataclass
class ListView:
    """A list with its lines, warnings per line and totals per fund."""

    selection_list: SelectionList
    lines: list[SelectionLine]
    warnings: dict[int, list[Warning]] = field(default_factory=dict)
    totals: dict[int | None, FundTotal] = field(default_factory=dict)
    line_count: int = 0


def create_list(session: Session, staff, name: str) -> SelectionList:
    """A new shared list."""
    require_selector(staff)
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput("リスト名を200字以内で入力してください。", "Give the list a name of up to 200 characters.", field="name")
    selection_list = SelectionList(name=name, created_by=staff.id)
    session.add(selection_list)
    session.flush()
    return selection_list


def all_lists(session: Session, staff) -> list[tuple[SelectionList, int]]:
    """Every list with its number of lines, newest first."""
    require_selector(staff)
    counts = select(SelectionLine.list_id, func.count().label("n")).group_by(SelectionLine.list_id).subquery()
    rows = session.execute(select(SelectionList, func.coalesce(counts.c.n, 0)).outerjoin(counts, counts.c.list_id == SelectionList.id)
                           .order_by(SelectionList.id.desc()))
    return [(lst, int(n)) for lst, n in rows]


def get_list(session: Session, staff, list_id: int) -> SelectionList:
    """One list (staff only)."""
    require_selector(staff)
    selection_list = session.get(SelectionList, list_id)
    if selection_list is None:
        raise NotFound("選書リストが見つかりません。", "No such selection list.")
    return selection_list


def _quantity(value) -> int:
    try:
        quantity = int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidInput("数量は1以上の整数で入力してください。", "The quantity must be a whole number of at least 1.", field="quantity") from None
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput(f"数量は1〜{MAX_QUANTITY}にしてください。", f"The quantity must be 1 to {MAX_QUANTITY}.", field="quantity")
    return quantity


def add_line(session: Session, staff, list_id: int, offer_id: int, *, quantity=1, fund_id: int | None = None,
             note: str = "") -> tuple[SelectionLine, list[Warning]]:
    """Put an offer on a list; a second selector adding the same offer at the same time is told it is there."""
    selection_list = get_list(session, staff, list_id)
    offer = session.get(PoolOffer, offer_id)
    if offer is None:
        raise NotFound("提供条件が見つかりません。", "No such offer.")
    if fund_id is not None and session.get(Fund, fund_id) is None:
        raise NotFound("予算が見つかりません。", "No such fund.")
    line = SelectionLine(list_id=selection_list.id, offer_id=offer.id, quantity=_quantity(quantity), fund_id=fund_id,
                         note=(note or "").strip()[:500], added_by=staff.id)
    try:
        with session.begin_nested():
            session.add(line)
            session.flush()
    except IntegrityError:
        raise Conflict("この提供条件は既にこのリストにあります（他の方が追加した可能性があります）。",
                       "This offer is already on the list (perhaps a colleague just added it).") from None
    return line, line_warnings(session, line)


def line_warnings(session: Session, line: SelectionLine) -> list[Warning]:
    """Owned already, on another list, withdrawn by the distributor, no price."""
    session.refresh(line, ["offer"])
    return _warnings(session, [line], line.list_id).get(line.id, [])


def get_line(session: Session, staff, line_id: int) -> SelectionLine:
    """One line (staff only)."""
    require_selector(staff)
    line = session.get(SelectionLine, line_id)
    if line is None:
        raise NotFound("行が見つかりません。", "No such line.")
    return line


def update_line(session: Session, staff, line_id: int, *, quantity=None, fund_id: int | None = None, note: str | None = None) -> SelectionLine:
    """Change a line's quantity, fund or note (not once it is ordered)."""
    line = get_line(session, staff, line_id)
    if line.decision == Decision.ordered:
        raise Conflict("発注済みの行は変更できません。", "An ordered line cannot be changed.")
    if quantity is not None:
        line.quantity = _quantity(quantity)
    if fund_id is not None:
        if session.get(Fund, fund_id) is None:
            raise NotFound("予算が見つかりません。", "No such fund.")
        line.fund_id = fund_id
    if note is not None:
        line.note = note.strip()[:500]
    session.flush()
    return line


def decide(session: Session, staff, line_id: int, decision: str) -> SelectionLine:
    """Mark a line 採用 / 保留 / 不採用 (or undecided again)."""
    line = get_line(session, staff, line_id)
    try:
        chosen = Decision(decision)
    except ValueError:
        raise InvalidInput("判定が正しくありません。", "Unknown decision.", field="decision") from None
    if chosen == Decision.ordered or line.decision == Decision.ordered:
        raise Conflict("発注は発注画面から行います。", "Orders are made from the order page.")
    line.decision = chosen
    session.flush()
    return line


def comment(session: Session, staff, line_id: int, text: str) -> LineComment:
    """A colleague's comment on a line."""
    line = get_line(session, staff, line_id)
    text = (text or "").strip()
    if not text or len(text) > 1000:
        raise InvalidInput("コメントを1000字以内で入力してください。", "Write a comment of up to 1,000 characters.", field="text")
    entry = LineComment(line_id=line.id, staff_id=staff.id, text=text)
    session.add(entry)
    session.flush()
    return entry


def remove_line(session: Session, staff, line_id: int) -> None:
    """Take a line off its list (not once ordered)."""
    line = get_line(session, staff, line_id)
    if line.decision == Decision.ordered:
        raise Conflict("発注済みの行は削除できません。", "An ordered line cannot be removed.")
    session.delete(line)
    session.flush()


LINES_PER_PAGE = 100


def list_view(session: Session, staff, list_id: int, rounding: str, *, page: int = 1) -> ListView:
    """A page of a list's lines with their warnings, and the whole list's totals per fund against each fund.

    Totals are summed in SQL over every line that is neither rejected nor ordered (a 3,000-line list is
    not loaded to add it up); the tax is estimated per fund and rate as an order would compute it.
    """
    selection_list = get_list(session, staff, list_id)
    lines = list(session.scalars(
        select(SelectionLine).where(SelectionLine.list_id == selection_list.id).order_by(SelectionLine.id)
        .limit(LINES_PER_PAGE).offset((max(1, page) - 1) * LINES_PER_PAGE)
        .options(selectinload(SelectionLine.offer).selectinload(PoolOffer.pool_title).load_only(*_LINE_TITLE),
                 selectinload(SelectionLine.added_by_user).load_only(StaffUser.email),
                 selectinload(SelectionLine.comments).selectinload(LineComment.author).load_only(StaffUser.email))))
    view = ListView(selection_list, lines, _warnings(session, lines, selection_list.id))
    # One pass over the list's lines: the number of lines, and the amounts of those still to be bought.
    counted = session.execute(
        select(SelectionLine.fund_id, PoolOffer.tax_rate, SelectionLine.decision, func.count(),
               func.sum(SelectionLine.quantity * func.coalesce(PoolOffer.price, 0)))
        .join(PoolOffer, PoolOffer.id == SelectionLine.offer_id).where(SelectionLine.list_id == selection_list.id)
        .group_by(SelectionLine.fund_id, PoolOffer.tax_rate, SelectionLine.decision)).all()
    amounts: dict[tuple[int | None, int], int] = {}
    for fund_id, rate, decision, lines_counted, amount in counted:
        view.line_count += int(lines_counted)
        if decision not in (Decision.rejected, Decision.ordered):
            amounts[(fund_id, rate)] = amounts.get((fund_id, rate), 0) + int(amount or 0)
    per_fund: dict[int | None, list[tuple[int, int]]] = {}
    for (fund_id, rate), amount in amounts.items():
        per_fund.setdefault(fund_id, []).append((amount, rate))
    fund_balances = balances(session, [f for f in per_fund if f is not None]) if any(f is not None for f in per_fund) else {}
    for fund_id, rows in per_fund.items():
        summary = tax_summary(rows, rounding)
        view.totals[fund_id] = FundTotal(fund_balances.get(fund_id), summary.subtotal, summary.tax)
    return view


def adopted_distributors(session: Session, list_id: int) -> list[str]:
    """The distributors of a list's adopted lines (one order each)."""
    return list(session.scalars(select(PoolOffer.distributor).join(SelectionLine, SelectionLine.offer_id == PoolOffer.id)
                                .where(SelectionLine.list_id == list_id, SelectionLine.decision == Decision.adopted)
                                .distinct().order_by(PoolOffer.distributor)))


_LINE_TITLE = (PoolTitle.id, PoolTitle.title, PoolTitle.isbn, PoolTitle.owned_title_id, PoolTitle.owned_reason)


def _warnings(session: Session, lines: list[SelectionLine], list_id: int) -> dict[int, list[Warning]]:
    """Warnings for every line in one query more (a 3,000-line list must not ask line by line)."""
    pool_ids = {line.offer.pool_title_id for line in lines}
    elsewhere: dict[int, set[str]] = {}
    if pool_ids:
        rows = session.execute(
            select(PoolOffer.pool_title_id, SelectionList.name).join(SelectionLine, SelectionLine.offer_id == PoolOffer.id)
            .join(SelectionList, SelectionList.id == SelectionLine.list_id)
            .where(PoolOffer.pool_title_id.in_(pool_ids), SelectionLine.list_id != list_id,
                   SelectionLine.decision != Decision.rejected))
        for pool_id, name in rows:
            elsewhere.setdefault(pool_id, set()).add(name)
    warnings: dict[int, list[Warning]] = {}
    for line in lines:
        offer, pool_title = line.offer, line.offer.pool_title
        found = []
        if pool_title.owned_title_id is not None:
            ja, en = OWNED_REASONS.get(pool_title.owned_reason, ("所蔵あり", "Owned"))
            found.append(Warning("owned", f"所蔵済みの可能性（{ja}）", f"Possibly owned already ({en})"))
        if pool_title.id in elsewhere:
            names = "、".join(sorted(elsewhere[pool_title.id])[:3])
            found.append(Warning("other-list", f"他のリストにもあり: {names}", f"Also on other lists: {names}"))
        if offer.withdrawn:
            found.append(Warning("withdrawn", "提供元が取り下げた提供です", "Withdrawn by the distributor"))
        if offer.price is None:
            found.append(Warning("no-price", "価格未定（提供元に確認）", "No price: ask the distributor"))
        if found:
            warnings[line.id] = found
    return warnings
