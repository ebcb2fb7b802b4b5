"""Suggestions for the lists from what patrons looked for: catalog searches that found nothing but match
titles in the distributor's pool (from the aggregate search query log: no patron, no address)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from elibrary.selection.funds import require_selector
from elibrary.selection.models import PoolTitle
from elibrary.selection.search import PoolQuery, search_pool
from elibrary.usage.querylog import MissedQuery, missed_queries

WINDOW_DAYS = 90
QUERIES_LOOKED_AT = 40  # each is one pool search
SHOWN_TITLES = 3


@dataclass
class MissedSearch:
    """A query that found nothing in the catalog, with the pool titles it matches."""

    query: MissedQuery
    pool_total: int
    titles: list[PoolTitle]


def missed_searches(session: Session, staff, today: date, *, days: int = WINDOW_DAYS) -> list[MissedSearch]:
    """Zero-hit catalog searches of the last ``days`` that match pool candidates, most searched first."""
    require_selector(staff)
    found = []
    for query in missed_queries(session, today - timedelta(days=days), limit=QUERIES_LOOKED_AT):
        page = search_pool(session, PoolQuery(text=query.shown), facets=False)
        if page.titles:
            found.append(MissedSearch(query, page.total, page.titles[:SHOWN_TITLES]))
    return found
