"""Read-only queries behind the OPAC pages: home sections, shelves, titles in search order."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from elibrary.catalog.models import Audience, Shelf, ShelfItem, Title, TitleContributor, TitleStatus

HOME_NEW_ARRIVALS = 12
HOME_SHELF_ITEMS = 6  # one row on a tablet; the shelf page has the rest
KIDS_ITEMS = 6


@dataclass(frozen=True)
class ShelfView:
    """A public shelf with its active titles in the curated order."""

    shelf: Shelf
    titles: list[Title]


def _with_credits(stmt):
    return stmt.options(selectinload(Title.contributors).joinedload(TitleContributor.contributor))


def titles_in_order(session: Session, ids: Sequence[int]) -> list[Title]:
    """The active titles with these ids, in the order given (search results); missing ones are skipped."""
    if not ids:
        return []
    found = {t.id: t for t in session.scalars(_with_credits(select(Title).where(Title.id.in_(ids), Title.status == TitleStatus.active)))}
    return [found[i] for i in ids if i in found]


def newest_titles(session: Session, limit: int, audience: Audience | None = None) -> list[Title]:
    """The most recently added active titles, optionally for one audience."""
    stmt = select(Title).where(Title.status == TitleStatus.active)
    if audience is not None:
        stmt = stmt.where(Title.audience == audience)
    return list(session.scalars(_with_credits(stmt.order_by(Title.created_at.desc(), Title.id.desc()).limit(limit))))


def shelf_titles(session: Session, shelf: Shelf, limit: int | None = None) -> list[Title]:
    """The active titles of ``shelf`` in their curated order."""
    stmt = (
        select(Title).join(ShelfItem, ShelfItem.title_id == Title.id)
        .where(ShelfItem.shelf_id == shelf.id, Title.status == TitleStatus.active)
        .order_by(ShelfItem.position, Title.id)
    )
    if limit:
        stmt = stmt.limit(limit)
    return list(session.scalars(_with_credits(stmt)))


def public_shelves(session: Session, *, children: bool | None = None) -> list[Shelf]:
    """Public shelves in display order; ``children`` picks the children's corner ones (or the others)."""
    stmt = select(Shelf).where(Shelf.is_public.is_(True)).order_by(Shelf.position, Shelf.id)
    if children is True:
        stmt = stmt.where(Shelf.audience == Audience.children.value)
    elif children is False:
        stmt = stmt.where(Shelf.audience != Audience.children.value)
    return list(session.scalars(stmt))


def shelf_views(session: Session, shelves: Sequence[Shelf], limit: int) -> list[ShelfView]:
    """Shelves with their titles, leaving out empty ones."""
    views = [ShelfView(shelf, shelf_titles(session, shelf, limit)) for shelf in shelves]
    return [v for v in views if v.titles]
