"""Reading the search query log (for statistics and for selection's suggestions): aggregate counts only."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from elibrary.usage.models import SearchQueryDay


@dataclass(frozen=True)
class MissedQuery:
    """Words that found nothing in the catalog: how often, on how many days, and when last."""

    query_key: str
    shown: str
    zero_hits: int
    days: int
    last_day: date


def missed_queries(session: Session, since: date, *, limit: int = 50) -> list[MissedQuery]:
    """Queries that found nothing since ``since``, most often first (those that later found something are left out)."""
    found_later = select(SearchQueryDay.query_key).where(SearchQueryDay.day >= since, SearchQueryDay.last_hits > 0)
    rows = session.execute(
        select(SearchQueryDay.query_key, func.min(SearchQueryDay.shown), func.sum(SearchQueryDay.zero_hits), func.count(), func.max(SearchQueryDay.day))
        .where(SearchQueryDay.day >= since, SearchQueryDay.zero_hits > 0, SearchQueryDay.query_key.not_in(found_later))
        .group_by(SearchQueryDay.query_key)
        .order_by(func.sum(SearchQueryDay.zero_hits).desc(), SearchQueryDay.query_key)
        .limit(limit))
    return [MissedQuery(key, shown or key, int(zero or 0), int(days), last) for key, shown, zero, days, last in rows]
