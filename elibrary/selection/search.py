"""Searching the pool with the catalog's Japanese normalisation (readings, 旧字体, width) and facets.

Each pool title keeps ``search_text``: its title, readings, authors, publisher and ISBN folded by
``search.analysis.normalize`` (katakana → hiragana, 國 → 国, ﾅﾂﾒ → なつめ ...). A query is folded the same
way and every word must occur in it; an ISBN in any writing matches the ISBN.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, case, func, literal, select, true, union_all
from sqlalchemy.orm import Session, load_only, selectinload

from elibrary.search.analysis import isbn_query, normalize
from elibrary.selection import grams
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


def _listed_titles():
    """Pool titles on a list (not rejected), as one uncorrelated subquery (hashed once, not run per row)."""
    return (select(PoolOffer.pool_title_id).join(SelectionLine, SelectionLine.offer_id == PoolOffer.id)
            .where(SelectionLine.decision != Decision.rejected))


def _contains(session: Session, column, folded: str, dialect: str):
    # SQLite's LIKE folds case character by character, several times slower than a plain substring search.
    if dialect == "sqlite":
        return func.instr(column, folded) > 0
    like = column.contains(folded, autoescape=True)
    # PostgreSQL: a word held by few titles is looked up in the GIN index of character pairs (``grams``) and
    # only those rows are checked; for a common word, reading every row once is cheaper than the index.
    few = grams.few_holding(session, folded)
    return like if few is None else and_(PoolTitle.id.in_(few), like)


def _conditions(query: PoolQuery, session: Session, dialect: str = "sqlite") -> list:
    conditions = []
    for word in query.text.split()[:MAX_WORDS]:
        isbn = isbn_query(word)
        if isbn:
            conditions.append(PoolTitle.isbn == isbn)
            continue
        folded = normalize(word)
        if folded:
            conditions.append(_contains(session, PoolTitle.search_text, folded, dialect))
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
        # Through coalesce, so that SQLite filters in the search index instead of walking the owned_title_id
        # index (almost every candidate is NULL there) row by wide row.
        owned = func.coalesce(PoolTitle.owned_title_id, 0)
        conditions.append(owned != 0 if query.owned else owned == 0)
    if query.on_list is not None:
        conditions.append(PoolTitle.id.in_(_listed_titles()) if query.on_list else PoolTitle.id.not_in(_listed_titles()))
    offer = [PoolOffer.withdrawn.is_(False)]
    if query.model:
        offer.append(PoolOffer.model == query.model)
    if query.price_min is not None:
        offer.append(PoolOffer.price >= query.price_min)
    if query.price_max is not None:
        offer.append(PoolOffer.price <= query.price_max)
    if len(offer) > 1:
        conditions.append(PoolTitle.id.in_(select(PoolOffer.pool_title_id).where(*offer)))
    return conditions


def search_pool(session: Session, query: PoolQuery, *, facets: bool = True) -> PoolPage:
    """The page of pool titles matching ``query`` (newest first), with the total and facet counts.

    The filter runs once: the facets and the total are counted from one CTE of the matching rows (which
    SQLite and PostgreSQL materialise, as it is used several times), then the page is read with its offers.
    """
    conditions = _conditions(query, session, session.get_bind().dialect.name)
    where = and_(*conditions) if conditions else true()
    page = max(1, query.page)
    titles = list(session.scalars(
        select(PoolTitle).where(where)
        .options(load_only(*_SHOWN), selectinload(PoolTitle.offers))
        .order_by(PoolTitle.published_on.desc().nulls_last(), PoolTitle.id.desc())
        .limit(PER_PAGE).offset((page - 1) * PER_PAGE)))
    result = PoolPage(titles, 0)
    if titles:
        ids = [t.id for t in titles]
        result.on_lists = set(session.scalars(
            select(PoolOffer.pool_title_id).join(SelectionLine, SelectionLine.offer_id == PoolOffer.id)
            .where(PoolOffer.pool_title_id.in_(ids), SelectionLine.decision != Decision.rejected)))
    if not titles and page == 1:
        return result
    counted = _facets(session, where, with_models=facets) if conditions else _whole_pool_facets(session, with_models=facets)
    result.total = sum(count for _, count in counted.get("owned", []))
    if facets:
        result.facets = counted
    return result


_SHOWN = (PoolTitle.id, PoolTitle.isbn, PoolTitle.title, PoolTitle.authors, PoolTitle.publisher, PoolTitle.published_on,
          PoolTitle.ndc, PoolTitle.audience, PoolTitle.owned_title_id, PoolTitle.owned_reason)


def _facets(session: Session, where, *, with_models: bool) -> dict[str, list[tuple[str, int]]]:
    matching = select(PoolTitle.id, PoolTitle.ndc_class, PoolTitle.audience,
                      case((PoolTitle.owned_title_id.is_(None), "no"), else_="yes").label("owned")).where(where).cte("matching")
    parts = [select(literal("ndc_class").label("facet"), matching.c.ndc_class.label("value"), func.count().label("n")).group_by(matching.c.ndc_class),
             select(literal("audience"), matching.c.audience, func.count()).group_by(matching.c.audience),
             select(literal("owned"), matching.c.owned, func.count()).group_by(matching.c.owned)]
    if with_models:
        parts.append(select(literal("model"), PoolOffer.model, func.count(func.distinct(PoolOffer.pool_title_id)))
                     .join(matching, matching.c.id == PoolOffer.pool_title_id).where(PoolOffer.withdrawn.is_(False))
                     .group_by(PoolOffer.model))
    found: dict[str, list[tuple[str, int]]] = {"ndc_class": [], "audience": [], "owned": [], "model": []}
    for facet, value, count in session.execute(union_all(*parts)):
        found[facet].append((value or "", int(count)))
    for values in found.values():
        values.sort()
    return found


def _whole_pool_facets(session: Session, *, with_models: bool) -> dict[str, list[tuple[str, int]]]:
    """Facets of the unfiltered pool: each a group-by on its own index (no rows copied into a CTE)."""
    owned = case((PoolTitle.owned_title_id.is_(None), "no"), else_="yes")
    found = {name: sorted((value or "", int(n)) for value, n in session.execute(select(column, func.count()).group_by(column)))
             for name, column in (("ndc_class", PoolTitle.ndc_class), ("audience", PoolTitle.audience), ("owned", owned))}
    found["model"] = []
    if with_models:
        found["model"] = sorted((value, int(n)) for value, n in session.execute(
            select(PoolOffer.model, func.count(func.distinct(PoolOffer.pool_title_id))).where(PoolOffer.withdrawn.is_(False))
            .group_by(PoolOffer.model)))
    return found
