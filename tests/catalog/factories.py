"""Catalog factories for tests of every domain: they flush, never commit."""
from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from elibrary.catalog.isbn import make_isbn13
from elibrary.catalog.models import Title
from elibrary.catalog.services import ContributorCredit, TitleData, create_title

_serial = itertools.count(1)


def next_isbn() -> str:
    """A valid ISBN-13 not used by any other factory call in this run (fictional 978-4-99 prefix)."""
    return make_isbn13(f"97849{next(_serial):07d}")


def make_title(session: Session, **overrides) -> Title:
    """A valid title; any ``TitleData`` field can be overridden (``isbn=None`` for none)."""
    fields = dict(
        title="テストの本",
        title_reading="テスト ノ ホン",
        publisher="テスト書房",
        isbn=next_isbn(),
        ndc="913.6",
        contributors=(ContributorCredit("山田太郎", "ヤマダ タロウ"),),
    )
    fields.update(overrides)
    return create_title(session, TitleData(**fields))
