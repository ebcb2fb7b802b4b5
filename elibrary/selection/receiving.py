"""Receiving an order (納品): catalog titles from the pool where not owned, licences, and the money.

A received line whose title has no book file yet is "ファイル未着": its licences are only made once a
file is attached (with the delivery, later with ``attach_delivered_books``, or by ``license_arrived``), so the
title cannot be borrowed before it can be read.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from elibrary.catalog.credits import ContributorCredit, SubjectEntry
from elibrary.catalog.files import attach_book_file
from elibrary.catalog.models import BookFile, Title
from elibrary.catalog.ndc import InvalidNDC, normalize_ndc
from elibrary.catalog.titles import TitleData, create_title
from elibrary.db import utcnow
from elibrary.errors import Conflict
from elibrary.lending.supply import add_license
from elibrary.selection.funds import record, require_selector
from elibrary.selection.models import LicenseCost, MoneyKind, Order, OrderLine, OrderState, PoolTitle
from elibrary.selection.money import round_tax
from elibrary.selection.orders import get_order, lines_total, terms_of, valid_until
from elibrary.selection.pool import refresh_owned


@dataclass(frozen=True)
class DeliveredBook:
    """A book file delivered with an order, already checked by the import pipeline (``catalog_import.pool.delivered_books``)."""

    path: Path
    media_type: str
    layout: str | None = None
    page_progression: str | None = None
    check_report: list | None = None


def receive_order(session: Session, staff, order_id: int, *, cipher=None) -> Order:
    """Receive every line still on order (by hand); twice is refused (nothing counted twice)."""
    order = _receivable(session, staff, order_id)
    return _receive(session, staff, order, [line for line in order.lines if line.state == OrderState.ordered], cipher)


def receive_delivery(session: Session, staff, order_id: int, isbns: list[str], *, cipher=None, storage=None,
                     books: Mapping[str, DeliveredBook] | None = None) -> tuple[Order, list[str]]:
    """Receive the lines a distributor's delivery file names (``isbns``, read by ``catalog_import.pool.delivered_isbns``),
    attaching the book files delivered with it (``books`` by ISBN, stored through ``storage``).

    Returns the order and the ISBNs of the file that match no line still on order (shown to staff).
    """
    order = _receivable(session, staff, order_id)
    outstanding = {line.isbn: line for line in order.lines if line.state == OrderState.ordered and line.isbn}
    lines = [outstanding[isbn] for isbn in dict.fromkeys(isbns) if isbn in outstanding]
    unknown = [isbn for isbn in dict.fromkeys(isbns) if isbn not in outstanding]
    if not lines:
        raise Conflict("納品ファイルに、この発注で未納品の本がありません（既に納品済みか、別の発注です）。",
                       "The delivery file names no line of this order still on order (already received, or another order).")
    return _receive(session, staff, order, lines, cipher, storage=storage, books=books), unknown


def attach_delivered_books(session: Session, staff, order_id: int, books: Mapping[str, DeliveredBook], *, storage, cipher=None) -> tuple[int, list[str]]:
    """Attach book files that arrived after their order was received (ファイル未着) and make those lines' licences.

    Returns how many lines became borrowable and the ISBNs that match no line waiting for its file.
    """
    order = get_order(session, staff, order_id)
    waiting = {line.isbn: line for line in order.lines if line.state == OrderState.received and not line.licensed and line.isbn}
    matched = [waiting[isbn] for isbn in books if isbn in waiting]
    for line in matched:
        _attach(session, storage, line, books[line.isbn])
        _license(session, line, cipher)
    return len(matched), [isbn for isbn in books if isbn not in waiting]


def _attach(session: Session, storage, line: OrderLine, book: DeliveredBook) -> None:
    title = session.get(Title, line.title_id)
    with open(book.path, "rb") as stream:
        attach_book_file(session, storage, title, stream, book.media_type, layout=book.layout,
                         page_progression=book.page_progression, check_report=book.check_report)
    session.flush()


def _receivable(session: Session, staff, order_id: int) -> Order:
    order = get_order(session, staff, order_id)
    if order.state == OrderState.received:
        raise Conflict(f"発注 {order.number} は既に納品済みです。", f"Order {order.number} has already been received.")
    if order.state == OrderState.cancelled:
        raise Conflict("取り消された発注は納品できません。", "A cancelled order cannot be received.")
    return order


def _receive(session: Session, staff, order: Order, lines: list[OrderLine], cipher, *, storage=None,
             books: Mapping[str, DeliveredBook] | None = None) -> Order:
    """Catalog titles for ``lines``, the money moved by the difference of the totals, the delivered files
    attached, and licences where files are."""
    committed_before = lines_total(order, (OrderState.ordered,)).total
    spent_before = lines_total(order, (OrderState.received,)).total
    for line in lines:
        line.title_id = _catalog_title(session, line).id
        line.state = OrderState.received
    order.received_at = utcnow()
    if not any(line.state == OrderState.ordered for line in order.lines):
        order.state = OrderState.received
    session.flush()
    committed = lines_total(order, (OrderState.ordered,)).total - committed_before
    spent = lines_total(order, (OrderState.received,)).total - spent_before
    record(session, order.fund_id, MoneyKind.committed, committed, order_id=order.id, staff_id=staff.id, note=f"納品 {order.number}")
    record(session, order.fund_id, MoneyKind.spent, spent, order_id=order.id, staff_id=staff.id, note=f"納品 {order.number}")
    for line in lines:
        if books and storage is not None and line.isbn in books:
            _attach(session, storage, line, books[line.isbn])
        if _has_file(session, line.title_id):
            _license(session, line, cipher)
    refresh_owned(session, [line.pool_title_id for line in lines if line.pool_title_id])
    return order


def license_arrived(session: Session, staff, *, cipher=None) -> int:
    """Make the licences of received lines whose book files have now arrived; returns how many lines."""
    require_selector(staff)
    waiting = session.scalars(select(OrderLine).where(OrderLine.state == OrderState.received, OrderLine.licensed.is_(False))
                              .options(selectinload(OrderLine.order))).all()
    done = 0
    for line in waiting:
        if line.title_id and _has_file(session, line.title_id):
            _license(session, line, cipher)
            done += 1
    return done


def waiting_for_files(session: Session, order: Order) -> set[int]:
    """The order's received lines still without a book file (shown as ファイル未着)."""
    return {line.id for line in order.lines if line.state == OrderState.received and not line.licensed}


def _has_file(session: Session, title_id: int | None) -> bool:
    return title_id is not None and session.scalar(select(BookFile.id).where(BookFile.title_id == title_id).limit(1)) is not None


def _license(session: Session, line: OrderLine, cipher) -> None:
    terms = terms_of(line)
    until = valid_until(terms.term_months, line.order.received_at or utcnow())
    tax = round_tax(line.unit_price * line.tax_rate, 100, line.order.tax_rounding)
    for _ in range(line.quantity):
        licence = add_license(session, line.title_id, terms.model, copies=terms.copies, loans=terms.loans, until=until,
                                      note=f"発注 {line.order.number}"[:200], cipher=cipher)
        session.add(LicenseCost(license_id=licence.id, order_line_id=line.id, price=line.unit_price, tax=tax))
    line.licensed = True
    session.flush()


def _catalog_title(session: Session, line: OrderLine) -> Title:
    """The catalog title of the same ISBN, else one made from the pool record."""
    if line.isbn:
        owned = session.scalar(select(Title).where(Title.isbn == line.isbn))
        if owned is not None:
            return owned
    pool_title = session.get(PoolTitle, line.pool_title_id) if line.pool_title_id else None
    data = dict(pool_title.record) if pool_title is not None else {"title": line.description, "isbn": line.isbn}
    published = data.get("published_on")
    return create_title(session, TitleData(
        title=data.get("title") or line.description, title_reading=data.get("title_reading") or "",
        subtitle=data.get("subtitle") or "", series_title=data.get("series_title") or "",
        series_reading=data.get("series_reading") or "", volume=data.get("volume") or "", publisher=data.get("publisher") or "",
        published_on=date.fromisoformat(published) if published and len(published) == 10 else None, isbn=data.get("isbn"),
        ndc=_catalog_ndc(data.get("ndc")), language=data.get("language") or "ja", audience=data.get("audience") or "general",
        description=data.get("description") or "",
        contributors=[ContributorCredit(*c) for c in data.get("contributors") or ()],
        subjects=[SubjectEntry(*s) for s in data.get("subjects") or ()],
        source="selection", source_record_id=f"order-line:{line.id}"))


def _catalog_ndc(value: str | None) -> str:
    """The pool's NDC if the catalog accepts it; a distributor's "E" (picture books) is not an NDC number."""
    try:
        return normalize_ndc(value)
    except InvalidNDC:
        return ""
