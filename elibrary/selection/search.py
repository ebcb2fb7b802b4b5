"""Searching the pool with the catalog's Japanese normalisation (readings, 旧字体, width) and facets.

Each pool title keeps ``search_text``: its title, readings, authors, publisher and ISBN folded by
``search.analysis.normalize`` (katakana → hiragana, 國 → 国, ﾅﾂﾒ → なつめ ...). A query is folded the same
way and every word must occur in it; an ISBN in any writing matches the ISBN.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, selectinload

from elibrary.search.analysis import isbn_query, normalize
from elibrary.selection.models import Decision, PoolOffer, PoolTitle, SelectionLine

PER_PAGE = 20
MAX_WORDS = 8


@dataclass
class PoolQuery:
    """What the librarian asked: words and facet filters (None: any)."""

    text: str = ""
    ndc_class: str | None = None
    audience: str | None = None
    published_from: date | None = None
    published_to: date | None = None
    price_min: int | None = None
    price_max: int | None = None
    model: str | None = None
    publisher: str | None = None
    owned: bool | None = None
    on_list: bool | None = None
    page: int = 1


@dataclass
class PoolPage:
    """One page of results, the total and the facet counts of the whole result."""

    titles: list[PoolTitle]
    total: int
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    on_lists: set[int] = field(default_factory=set)


def _on_list(pool_id_column):
    return exists().where(SelectionLine.offer_id == PoolOffer.id, PoolOffer.pool_title_id == pool_id_column,
                          SelectionLine.decision != Decision.rejected)


def _conditions(query: PoolQuery) -> list:
    conditions = []
    for word in query.text.split()[:MAX_WORDS]:
        isbn = isbn_query(word)
        if isbn:
            conditions.append(PoolTitle.isbn == isbn)
            continue
        folded = normalize(word)
        if folded:
            conditions.append(PoolTitle.search_text.contains(folded, autoescape=True))
    if query.ndc_class:
        conditions.append(PoolTitle.ndc_class == query.ndc_class)
    if query.audience:
        conditions.append(PoolTitle.audience == query.audience)
    if query.published_from:
        conditions.append(PoolTitle.published_on >= query.published_from)
    if query.published_to:
        conditions.append(PoolTitle.published_on <= query.published_to)
    if query.publisher:
        conditions.append(PoolTitle.publisher == query.publisher)
    if query.owned is not None:
        conditions.append(PoolTitle.owned_title_id.is_not(None) if query.owned else PoolTitle.owned_title_id.is_(None))
    if query.on_list is not None:
        conditions.append(_on_list(PoolTitle.id) if query.on_list else ~_on_list(PoolTitle.id))
    offer = [PoolOffer.pool_title_id == PoolTitle.id, PoolOffer.withdrawn.is_(False)]
    if query.model:
        offer.append(PoolOffer.model == query.model)
    if query.price_min is not None:
        offer.append(PoolOffer.price >= query.price_min)
    if query.price_max is not None:
        offer.append(PoolOffer.price <= query.price_max)
    if len(offer) > 2:
        conditions.append(exists().where(and_(*offer)))
    return conditions


def search_pool(session: Session, query: PoolQuery, *, facets: bool = True) -> PoolPage:
    """The page of pool titles matching ``query`` (newest first), with facet counts."""
    conditions = _conditions(query)
    where = and_(*conditions) if conditions else True
    total = session.scalar(select(func.count()).select_from(PoolTitle).where(where)) or 0
    page = max(1, query.page)
    titles = list(session.scalars(
        select(PoolTitle).where(where).options(selectinload(PoolTitle.offers))
        .order_by(PoolTitle.published_on.desc().nulls_last(), PoolTitle.id.desc())
        .limit(PER_PAGE).offset((page - 1) * PER_PAGE)))
    result = PoolPage(titles, total)
    if titles:
        ids = [t.id for t in titles]
        result.on_lists = set(session.scalars(
            select(PoolOffer.pool_title_id).join(SelectionLine, SelectionLine.offer_id == PoolOffer.id)
            .where(PoolOffer.pool_title_id.in_(ids), SelectionLine.decision != Decision.rejected)))
    if facets and total:
        result.facets = _facets(session, where)
    return result


def _facets(session: Session, where) -> dict[str, list[tuple[str, int]]]:
    facets: dict[str, list[tuple[str, int]]] = {}
    for name, column in (("ndc_class", PoolTitle.ndc_class), ("audience", PoolTitle.audience)):
        rows = session.execute(select(column, func.count()).where(where).group_by(column).order_by(column)).all()
        facets[name] = [(value or "", count) for value, count in rows]
    owned = session.execute(select(PoolTitle.owned_title_id.is_not(None), func.count()).where(where)
                            .group_by(PoolTitle.owned_title_id.is_not(None))).all()
    facets["owned"] = [("yes" if flag else "no", count) for flag, count in owned]
    matching = select(PoolTitle.id).where(where).scalar_subquery()
    models = session.execute(select(PoolOffer.model, func.count(func.distinct(PoolOffer.pool_title_id)))
                             .where(PoolOffer.pool_title_id.in_(matching), PoolOffer.withdrawn.is_(False))
                             .group_by(PoolOffer.model).order_by(PoolOffer.model)).all()
    facets["model"] = [(value, count) for value, count in models]
    return facets


def publishers(session: Session, limit: int = 200) -> list[str]:
    """The pool's publishers, most titles first (for the publisher filter)."""
    rows = session.execute(select(PoolTitle.publisher, func.count()).where(PoolTitle.publisher != "")
                           .group_by(PoolTitle.publisher).order_by(func.count().desc()).limit(limit))
    return [name for name, _ in rows]


def pool_title_words(session: Session, pool_title_id: int) -> PoolTitle | None:
    """One pool title with its offers."""
    return session.scalar(select(PoolTitle).where(PoolTitle.id == pool_title_id).options(selectinload(PoolTitle.offers)))


