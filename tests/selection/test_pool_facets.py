"""A pool search's page, total and facet counts (read in one statement) against the same answer worked out
row by row in Python, on SQLite and PostgreSQL: paging newest first with undated titles last, a title
sold twice under one model counted once, withdrawn offers left out, owned and listed titles."""
from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from elibrary.selection import lists
from elibrary.selection.models import Decision, PoolOffer, PoolTitle, SelectionLine
from elibrary.selection.search import PER_PAGE, PoolQuery, search_pool
from tests.catalog.factories import make_title
from tests.selection.factories import make_offer, make_staff

WORDS = ["宇宙", "森", "歴史", "猫"]
MODELS = ["one-copy", "metered-loans", "metered-time", "concurrent"]


def _pool(session) -> None:
    """57 titles: dated (some on the same day) and undated, across NDC classes, audiences and models."""
    rng = random.Random(7)
    owned = make_title(session, title="所蔵している本")
    staff = make_staff(session)
    shelf = lists.create_list(session, staff, "候補")
    for n in range(57):
        words = rng.sample(WORDS, 2)
        offer = make_offer(session, title=f"{words[0]}と{words[1]}の本 {n}", model=rng.choice(MODELS), price=rng.randrange(500, 4000, 100),
                           audience=rng.choice(["general", "children", "ya"]),
                           published_on=None if n % 9 == 0 else date(2020, 1, 1) + timedelta(days=rng.randrange(6)),
                           owned_title_id=owned.id if n % 7 == 0 else None)
        title = offer.pool_title
        title.ndc_class = str(rng.randrange(4))
        if n % 4 == 0:  # a second offer of the same model from another distributor: the title counts once
            title.offers.append(PoolOffer(distributor="電子取次A", offer_code=f"A-{n}", model=offer.model, price=1500, tax_rate=10))
        if n % 5 == 0:  # another model, withdrawn: not counted
            title.offers.append(PoolOffer(distributor="電子取次A", offer_code=f"W-{n}", model="open", price=900, tax_rate=10, withdrawn=True))
        if n % 6 == 0:
            session.add(SelectionLine(list_id=shelf.id, offer_id=offer.id, decision=Decision.rejected if n % 12 == 0 else Decision.undecided))
    session.flush()


def _expected(session, query: PoolQuery) -> tuple[list[int], int, dict[str, list[tuple[str, int]]]]:
    """The page ids, total and facets, worked out in Python from every pool title."""
    listed = set(session.scalars(select(PoolOffer.pool_title_id).join(SelectionLine, SelectionLine.offer_id == PoolOffer.id)
                                 .where(SelectionLine.decision != Decision.rejected)))
    found = []
    for title in session.scalars(select(PoolTitle)):
        sold = [o for o in title.offers if not o.withdrawn]
        if not all(w in title.search_text for w in query.text.split()):
            continue
        if query.ndc_class and title.ndc_class != query.ndc_class or query.audience and title.audience != query.audience:
            continue
        if query.owned is not None and (title.owned_title_id is not None) != query.owned:
            continue
        if query.on_list is not None and (title.id in listed) != query.on_list:
            continue
        if (query.model or query.price_max is not None) and not any(
                (not query.model or o.model == query.model) and (query.price_max is None or (o.price or 0) <= query.price_max) for o in sold):
            continue
        found.append(title)
    found.sort(key=lambda t: (t.published_on is not None, t.published_on or date.min, t.id), reverse=True)
    start = (query.page - 1) * PER_PAGE
    facets: dict[str, dict[str, int]] = {"ndc_class": {}, "audience": {}, "owned": {}, "model": {}}
    for title in found:
        for name, value in (("ndc_class", title.ndc_class), ("audience", title.audience), ("owned", "yes" if title.owned_title_id else "no")):
            facets[name][value] = facets[name].get(value, 0) + 1
        for model in {o.model for o in title.offers if not o.withdrawn}:
            facets["model"][model] = facets["model"].get(model, 0) + 1
    return [t.id for t in found[start:start + PER_PAGE]], len(found), {k: sorted(v.items()) for k, v in facets.items()}


@pytest.mark.parametrize("query", [
    PoolQuery(text="の"), PoolQuery(text="の", page=2), PoolQuery(text="の", page=3), PoolQuery(text="宇宙"),
    PoolQuery(text="宇宙 猫"), PoolQuery(text="森", audience="children"), PoolQuery(ndc_class="2"), PoolQuery(model="metered-loans"),
    PoolQuery(price_max=1500), PoolQuery(owned=False, on_list=False), PoolQuery(on_list=True), PoolQuery(text="歴史", owned=True),
], ids=lambda q: repr({k: v for k, v in vars(q).items() if v not in (None, "", 1)}))
def test_page_total_and_facets_match_a_count_by_hand(db_session, query):
    _pool(db_session)
    ids, total, facets = _expected(db_session, query)
    assert total > 0
    found = search_pool(db_session, query)
    assert [t.id for t in found.titles] == ids
    assert found.total == total
    assert found.facets == facets


def test_nothing_found_has_no_facets_and_a_later_page_keeps_them(db_session):
    _pool(db_session)
    assert (search_pool(db_session, PoolQuery(text="存在しない語")).facets, search_pool(db_session, PoolQuery(text="存在しない語")).total) == ({}, 0)
    beyond = search_pool(db_session, PoolQuery(text="の", page=9))
    assert beyond.titles == [] and beyond.total == _expected(db_session, PoolQuery(text="の"))[1] and beyond.facets["model"]


def test_a_list_counts_every_line_and_totals_only_those_still_to_buy(db_session):
    from elibrary.selection import funds

    staff = make_staff(db_session)
    fund = funds.create_fund(db_session, staff, 2027, "一般書", 100_000)
    shelf = lists.create_list(db_session, staff, "大きなリスト")
    for n, decision in enumerate([Decision.undecided, Decision.adopted, Decision.rejected, Decision.ordered, Decision.held]):
        line, _ = lists.add_line(db_session, staff, shelf.id, make_offer(db_session, price=1000 * (n + 1)).id, fund_id=fund.id, quantity=2)
        line.decision = decision
    db_session.flush()
    view = lists.list_view(db_session, staff, shelf.id, "floor")
    assert view.line_count == 5
    assert (view.totals[fund.id].subtotal, view.totals[fund.id].tax) == (2 * (1000 + 2000 + 5000), 1600)
