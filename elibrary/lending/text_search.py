"""Which titles' text may be searched (本文検索): the licences' setting, read for the book-text index and its searches.

A title's text is searchable while any licence that still lends allows it (``License.allows_text_search``:
the licence's ``text_search``, or, when that is unset, whether the licence is open).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.db import utcnow
from elibrary.lending.models import License, LicenseModel, LicenseTerms


def text_searchable(session: Session, title_ids: Iterable[int], now: datetime | None = None) -> set[int]:
    """The titles among ``title_ids`` with a lending licence that allows searching their text."""
    ids = sorted(set(title_ids))
    if not ids:
        return set()
    now = now or utcnow()
    allowed: set[int] = set()
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(License.title_id, License.id, License.model, License.copies, License.loans_remaining, License.valid_until,
                   License.max_loan_days, License.text_search).where(License.title_id.in_(ids[start : start + 500]))
        )
        for row in rows:
            terms = LicenseTerms(row.id, row.model, row.copies, row.loans_remaining, row.valid_until, row.max_loan_days)
            wanted = row.model == LicenseModel.open if row.text_search is None else row.text_search
            if wanted and terms.stop_reason(now) is None:
                allowed.add(row.title_id)
    return allowed
