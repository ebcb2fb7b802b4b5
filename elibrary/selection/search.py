"""Searching the pool with the catalog's Japanese normalisation (readings, 旧字体, width) and facets.

Each pool title keeps ``search_text``: its title, readings, authors, publisher and ISBN folded by
``search.analysis.normalize`` (katakana → hiragana, 國 → 国, ﾅﾂﾒ → なつめ ...), and each name and reading also
as typed without its spaces and marks (夏目漱石, なつめそうせき, えりっくかーる, わがはいはねこである; see
``pool.search_text``). A query is folded the same way and every word must occur in it; an ISBN in any
writing matches the ISBN.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Date, String, and_, case, cast, false, func, literal, null, select, union_all
from sqlalchemy.orm import Session, aliased, joinedload, load_only

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
    offer = [PoolOffer.withdrawn == false()]
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

    The words are matched once: one statement reads the matching rows into a CTE (which SQLite and
    PostgreSQL materialise, as it is used several times) and returns from it the page's ids, the counts
    per NDC class, audience and owned (grouped together, summed here) and the licence models; then the
    page's titles are read by id with their offers. An unfiltered pool is counted from its indexes.
    """
    conditions = _conditions(query, session, session.get_bind().dialect.name)
    page = max(1, query.page)
    if conditions:
        ids, counted = _matching(session, and_(*conditions), page, with_models=facets)
        if not ids and page == 1:
            counted = {}  # nothing found: no facets to offer
    else:
        ids = list(session.scalars(select(PoolTitle.id).order_by(*_NEWEST).limit(PER_PAGE).offset((page - 1) * PER_PAGE)))
        counted = _whole_pool_facets(session, with_models=facets) if ids or page > 1 else {}
    titles, on_lists = _titles(session, ids)
    result = PoolPage(titles, sum(count for _, count in counted.get("owned", [])), on_lists=on_lists)
    if facets:
        result.facets = counted
    return result


_SHOWN = (PoolTitle.id, PoolTitle.isbn, PoolTitle.title, PoolTitle.authors, PoolTitle.publisher, PoolTitle.published_on,
          PoolTitle.ndc, PoolTitle.audience, PoolTitle.owned_title_id, PoolTitle.owned_reason)
_NEWEST = (PoolTitle.published_on.desc().nulls_last(), PoolTitle.id.desc())


def _titles(session: Session, ids: list[int]) -> tuple[list[PoolTitle], set[int]]:
    """The page's titles in the order of ``ids`` with their offers, and which of them are on a list (one statement)."""
    if not ids:
        return [], set()
    offer = aliased(PoolOffer)
    listed = (select(offer.id).join(SelectionLine, SelectionLine.offer_id == offer.id)
              .where(offer.pool_title_id == PoolTitle.id, SelectionLine.decision != Decision.rejected).exists())
    rows = session.execute(select(PoolTitle, listed).where(PoolTitle.id.in_(ids))
                           .options(load_only(*_SHOWN), joinedload(PoolTitle.offers))).unique().all()
    found = {title.id: title for title, _ in rows}
    return [found[i] for i in ids if i in found], {title.id for title, on_list in rows if on_list}


def _matching(session: Session, where, page: int, *, with_models: bool) -> tuple[list[int], dict[str, list[tuple[str, int]]]]:
    """The page's ids (newest first) and the facet counts of every title matching ``where``, in one statement."""
    matching = select(PoolTitle.id, PoolTitle.published_on, PoolTitle.ndc_class, PoolTitle.audience,
                      case((PoolTitle.owned_title_id.is_(None), "no"), else_="yes").label("owned")).where(where).cte("matching")
    none = cast(null(), String)
    shown = (select(matching.c.id, matching.c.published_on)
             .order_by(matching.c.published_on.desc().nulls_last(), matching.c.id.desc())
             .limit(PER_PAGE).offset((page - 1) * PER_PAGE).subquery("shown"))
    parts = [select(literal("page").label("part"), none.label("a"), none.label("b"), none.label("c"), shown.c.id.label("n"),
                    shown.c.published_on.label("day")),
             select(literal("group"), matching.c.ndc_class, matching.c.audience, matching.c.owned, func.count(), cast(null(), Date))
             .group_by(matching.c.ndc_class, matching.c.audience, matching.c.owned)]
    if with_models:
        # Each matching title once per model it is sold under (it may hold two offers of one model), then counted.
        sold = (select(PoolOffer.pool_title_id, PoolOffer.model).join(matching, matching.c.id == PoolOffer.pool_title_id)
                .where(PoolOffer.withdrawn == false()).group_by(PoolOffer.pool_title_id, PoolOffer.model).subquery("sold"))
        parts.append(select(literal("model"), sold.c.model, none, none, func.count(), cast(null(), Date)).group_by(sold.c.model))
    shown_rows: list[tuple] = []
    sums: dict[str, dict[str, int]] = {"ndc_class": {}, "audience": {}, "owned": {}, "model": {}}
    for part, a, b, c, n, day in session.execute(union_all(*parts)):
        if part == "page":
            shown_rows.append((n, day))
        elif part == "model":
            sums["model"][a or ""] = int(n)
        else:
            for name, value in (("ndc_class", a), ("audience", b), ("owned", c)):
                sums[name][value or ""] = sums[name].get(value or "", 0) + int(n)
    # UNION ALL keeps no order: the page is put back in the order it was cut in (newest first, NULL dates last).
    shown_rows.sort(key=lambda row: (row[1] is not None, row[1] or date.min, row[0]), reverse=True)
    return [n for n, _ in shown_rows], {name: sorted(values.items()) for name, values in sums.items()}


def _whole_pool_facets(session: Session, *, with_models: bool) -> dict[str, list[tuple[str, int]]]:
    """Facets of the unfiltered pool: each a group-by on its own index (no rows copied into a CTE)."""
    owned = case((PoolTitle.owned_title_id.is_(None), "no"), else_="yes")
    found = {name: sorted((value or "", int(n)) for value, n in session.execute(select(column, func.count()).group_by(column)))
             for name, column in (("ndc_class", PoolTitle.ndc_class), ("audience", PoolTitle.audience), ("owned", owned))}
    found["model"] = []
    if with_models:
        found["model"] = sorted((value, int(n)) for value, n in session.execute(
            select(PoolOffer.model, func.count(func.distinct(PoolOffer.pool_title_id))).where(PoolOffer.withdrawn == false())
            .group_by(PoolOffer.model)))
    return found
