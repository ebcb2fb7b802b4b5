"""The selection wing's tables: pool titles and offers (選書候補), lists (選書リスト), funds (予算) with
their money movements, orders (発注) and what each received licence cost."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from elibrary.db import Base, UTCDateTime, utcnow
from elibrary.staff.models import StaffUser


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, values_callable=lambda e: [m.value for m in e], length=20)


class PoolTitle(Base):
    """A title a distributor offers (選書候補), not in the public catalog; matched to owned titles by work."""

    __tablename__ = "selection_pool_titles"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_key: Mapped[str] = mapped_column(String(220), unique=True)  # ISBN, else "source:record id"
    isbn: Mapped[str | None] = mapped_column(String(13), index=True)
    title: Mapped[str] = mapped_column(String(500))
    title_reading: Mapped[str] = mapped_column(String(500), default="")
    authors: Mapped[str] = mapped_column(String(500), default="")  # "夏目漱石; 山田太郎" as credited
    author_reading: Mapped[str] = mapped_column(String(500), default="")
    publisher: Mapped[str] = mapped_column(String(300), default="", index=True)
    published_on: Mapped[date | None] = mapped_column(Date, index=True)
    ndc: Mapped[str] = mapped_column(String(20), default="")
    ndc_class: Mapped[str] = mapped_column(String(1), default="", index=True)  # first digit of the NDC
    audience: Mapped[str] = mapped_column(String(20), default="general", index=True)
    work_key: Mapped[str] = mapped_column(String(300), default="", index=True)  # normalised title + author reading
    related_isbns: Mapped[list] = mapped_column(JSON, default=list)  # ONIX RelatedProduct: other editions, formats
    search_text: Mapped[str] = mapped_column(Text, default="")  # the catalog's normalisation of what is searched
    record: Mapped[dict] = mapped_column(JSON, default=dict)  # the import record, to create the catalog title
    # "Already owned": the catalog title of the same work and why ("isbn", "related", "work"); see pool.refresh_owned.
    owned_title_id: Mapped[int | None] = mapped_column(ForeignKey("titles.id", ondelete="SET NULL"), index=True)
    owned_reason: Mapped[str] = mapped_column(String(10), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    offers: Mapped[list["PoolOffer"]] = relationship(back_populates="pool_title", order_by="PoolOffer.id")


class PoolOffer(Base):
    """One licence a distributor sells for a pool title: model, copies or loans, term and price in yen."""

    __tablename__ = "selection_pool_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    pool_title_id: Mapped[int] = mapped_column(ForeignKey("selection_pool_titles.id", ondelete="CASCADE"), index=True)
    distributor: Mapped[str] = mapped_column(String(200))
    offer_code: Mapped[str] = mapped_column(String(100))  # the distributor's id of the offer, or its model and terms
    model: Mapped[str] = mapped_column(String(20), index=True)  # a lending LicenseModel value
    copies: Mapped[int | None] = mapped_column(Integer)
    loans: Mapped[int | None] = mapped_column(Integer)
    term_months: Mapped[int | None] = mapped_column(Integer)
    price: Mapped[int | None] = mapped_column(Integer, index=True)  # yen, excluding consumption tax; None: ask
    tax_rate: Mapped[int] = mapped_column(Integer, default=10)  # percent: 10, or the reduced 8
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)  # the distributor no longer sells it
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    pool_title: Mapped[PoolTitle] = relationship(back_populates="offers")

    __table_args__ = (UniqueConstraint("pool_title_id", "distributor", "offer_code", name="uq_selection_offer"),)


class Fund(Base):
    """A budget line of one 年度 (April–March), e.g. 一般書 / 児童書 / 学校; amounts are its movements."""

    __tablename__ = "selection_funds"

    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, index=True)  # the April it starts: 2027 = 令和9年度
    name: Mapped[str] = mapped_column(String(100))

    __table_args__ = (UniqueConstraint("fiscal_year", "name", name="uq_selection_fund_name"),)


class MoneyKind(str, enum.Enum):
    """What a movement changes: allocation (配分), committed (発注済・未納品) or spent (支出済)."""

    allocation = "allocation"
    committed = "committed"
    spent = "spent"


class FundMovement(Base):
    """One change of a fund's money, never edited: totals are sums of these rows (integer yen, tax included)."""

    __tablename__ = "selection_fund_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("selection_funds.id", ondelete="CASCADE"), index=True)
    kind: Mapped[MoneyKind] = mapped_column(_enum(MoneyKind, "selection_money_kind"))
    amount: Mapped[int] = mapped_column(Integer)  # signed yen
    order_id: Mapped[int | None] = mapped_column(ForeignKey("selection_orders.id", ondelete="SET NULL"), index=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SelectionList(Base):
    """A named list shared by the selectors (選書リスト)."""

    __tablename__ = "selection_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list["SelectionLine"]] = relationship(back_populates="selection_list", order_by="SelectionLine.id",
                                                        cascade="all, delete-orphan")


class Decision(str, enum.Enum):
    """A line's state: undecided, 採用 (adopted), 保留 (held), 不採用 (rejected), ordered."""

    undecided = "undecided"
    adopted = "adopted"
    held = "held"
    rejected = "rejected"
    ordered = "ordered"


class SelectionLine(Base):
    """An offer on a list, with quantity, fund, note and who added it."""

    __tablename__ = "selection_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("selection_lists.id", ondelete="CASCADE"), index=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("selection_pool_offers.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    fund_id: Mapped[int | None] = mapped_column(ForeignKey("selection_funds.id", ondelete="SET NULL"), index=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    decision: Mapped[Decision] = mapped_column(_enum(Decision, "selection_decision"), default=Decision.undecided)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    selection_list: Mapped[SelectionList] = relationship(back_populates="lines")
    offer: Mapped[PoolOffer] = relationship()
    added_by_user: Mapped["StaffUser | None"] = relationship("StaffUser", foreign_keys=[added_by])
    comments: Mapped[list["LineComment"]] = relationship(order_by="LineComment.id", cascade="all, delete-orphan")

    # Two selectors adding the same offer at once: the second insert fails here and is told so.
    __table_args__ = (UniqueConstraint("list_id", "offer_id", name="uq_selection_line_offer"),)


class LineComment(Base):
    """A colleague's comment on a line."""

    __tablename__ = "selection_line_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("selection_lines.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped["StaffUser | None"] = relationship("StaffUser")


class OrderState(str, enum.Enum):
    """An order's or a line's state."""

    ordered = "ordered"
    received = "received"
    cancelled = "cancelled"


class Order(Base):
    """An order to one distributor from one fund (発注), with the tax computed once per rate."""

    __tablename__ = "selection_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)  # "R9-0001"
    list_id: Mapped[int | None] = mapped_column(ForeignKey("selection_lists.id", ondelete="SET NULL"))
    fund_id: Mapped[int] = mapped_column(ForeignKey("selection_funds.id"), index=True)
    distributor: Mapped[str] = mapped_column(String(200))
    state: Mapped[OrderState] = mapped_column(_enum(OrderState, "selection_order_state"), default=OrderState.ordered)
    tax_rounding: Mapped[str] = mapped_column(String(10))  # the rule in force when it was ordered
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lines: Mapped[list["OrderLine"]] = relationship(back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan")
    fund: Mapped[Fund] = relationship()


class OrderLine(Base):
    """One offer ordered: quantity, unit price (yen, tax excluded) and rate; received into a catalog title."""

    __tablename__ = "selection_order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("selection_orders.id", ondelete="CASCADE"), index=True)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("selection_pool_offers.id", ondelete="SET NULL"))
    pool_title_id: Mapped[int | None] = mapped_column(ForeignKey("selection_pool_titles.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(String(600))  # title as ordered, kept if the pool changes
    isbn: Mapped[str | None] = mapped_column(String(13))
    terms: Mapped[dict] = mapped_column(JSON, default=dict)  # model, copies, loans, term_months as ordered
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(Integer)
    tax_rate: Mapped[int] = mapped_column(Integer)
    state: Mapped[OrderState] = mapped_column(_enum(OrderState, "selection_order_state"), default=OrderState.ordered)
    title_id: Mapped[int | None] = mapped_column(ForeignKey("titles.id", ondelete="SET NULL"), index=True)
    # Received but the book file has not arrived (ファイル未着): the licences are made when it does.
    licensed: Mapped[bool] = mapped_column(Boolean, default=False)

    order: Mapped[Order] = relationship(back_populates="lines")

    @property
    def amount(self) -> int:
        """Quantity × unit price, tax excluded."""
        return self.quantity * self.unit_price


class LicenseCost(Base):
    """What a licence cost: its order line, price and tax share (licences bought before: entered by hand)."""

    __tablename__ = "selection_license_costs"

    license_id: Mapped[int] = mapped_column(ForeignKey("licenses.id", ondelete="CASCADE"), primary_key=True)
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("selection_order_lines.id", ondelete="SET NULL"), index=True)
    price: Mapped[int] = mapped_column(Integer)  # yen, excluding tax
    tax: Mapped[int] = mapped_column(Integer, default=0)


class PurchaseRequest(Base):
    """A patron's purchase request (リクエスト): a title by ISBN or free text; staff see counts, never who asked."""

    __tablename__ = "selection_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"), index=True)
    request_key: Mapped[str] = mapped_column(String(300), index=True)  # ISBN, else the normalised text: how requests group
    isbn: Mapped[str | None] = mapped_column(String(13))
    text: Mapped[str] = mapped_column(String(500), default="")
    pool_title_id: Mapped[int | None] = mapped_column(ForeignKey("selection_pool_titles.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # One request per patron and title: asking twice does not count twice.
    __table_args__ = (UniqueConstraint("patron_id", "request_key", name="uq_selection_request_patron"),)


Index("ix_selection_lines_offer_decision", SelectionLine.offer_id, SelectionLine.decision)
# Pool search reads these narrow indexes instead of the wide rows (the ``record`` JSON): the words are
# matched and the facets counted from the first, the licence-model facet from the second.
Index("ix_selection_pool_search", PoolTitle.search_text, PoolTitle.ndc_class, PoolTitle.audience, PoolTitle.owned_title_id,
      PoolTitle.published_on)
Index("ix_selection_offers_facet", PoolOffer.model, PoolOffer.withdrawn, PoolOffer.pool_title_id)
