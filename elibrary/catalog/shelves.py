"""Curated shelves (特集棚) for the OPAC home, the children's corner (こどものへや) and OPDS."""
from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from elibrary.catalog.models import Shelf, ShelfItem, Title, TitleStatus
from elibrary.errors import InvalidInput, NotFound

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
SHELF_AUDIENCES = ("", "children", "ya", "general")


def create_shelf(
    session: Session,
    slug: str,
    name: str,
    *,
    name_en: str = "",
    description: str = "",
    audience: str = "",
    position: int | None = None,
    is_public: bool = True,
) -> Shelf:
    """Create a shelf; ``audience="children"`` puts it in the children's corner."""
    if not _SLUG.match(slug or ""):
        raise InvalidInput("棚のIDは英小文字・数字・ハイフンで入力してください。", "Shelf slugs are lower-case letters, digits and hyphens.", field="slug")
    name = (name or "").strip()
    if not name:
        raise InvalidInput("棚の名前を入力してください。", "The shelf name is required.", field="name")
    if audience not in SHELF_AUDIENCES:
        raise InvalidInput("棚の対象が正しくありません。", "Unknown shelf audience.", field="audience")
    if session.scalar(select(Shelf).where(Shelf.slug == slug)) is not None:
        raise InvalidInput(f"棚「{slug}」はすでにあります。", f"A shelf {slug!r} already exists.", field="slug")
    if position is None:
        position = (session.scalar(select(func.max(Shelf.position))) or 0) + 1
    shelf = Shelf(
        slug=slug, name=name[:200], name_en=name_en[:200], description=description, audience=audience, position=position, is_public=is_public
    )
    session.add(shelf)
    session.flush()
    return shelf


def get_shelf(session: Session, slug: str, *, include_private: bool = False) -> Shelf:
    """The shelf with this slug; ``NotFound`` when absent or (unless asked) not public."""
    shelf = session.scalar(select(Shelf).where(Shelf.slug == slug))
    if shelf is None or (not include_private and not shelf.is_public):
        raise NotFound("棚が見つかりません。", "Shelf not found.")
    return shelf


def add_to_shelf(session: Session, shelf: Shelf, title: Title, position: int | None = None) -> ShelfItem:
    """Put ``title`` on ``shelf`` (at the end unless ``position``); already there → moved to ``position``."""
    item = session.get(ShelfItem, (shelf.id, title.id))
    if position is None:
        if item is not None:
            return item
        position = (session.scalar(select(func.max(ShelfItem.position)).where(ShelfItem.shelf_id == shelf.id)) or 0) + 1
    if item is None:
        item = ShelfItem(shelf=shelf, title=title)
        session.add(item)
    item.position = position
    session.flush()
    return item


def remove_from_shelf(session: Session, shelf: Shelf, title: Title) -> None:
    """Take ``title`` off ``shelf`` (nothing happens if it is not there)."""
    item = session.get(ShelfItem, (shelf.id, title.id))
    if item is not None:
        shelf.items.remove(item)
        session.flush()


def public_shelves(session: Session, audience: str | None = None) -> list[Shelf]:
    """Public shelves in display order; ``audience="children"`` gives the children's corner only."""
    stmt = select(Shelf).where(Shelf.is_public.is_(True)).order_by(Shelf.position, Shelf.id)
    if audience is not None:
        stmt = stmt.where(Shelf.audience == audience)
    return list(session.scalars(stmt.options(selectinload(Shelf.items).selectinload(ShelfItem.title))))


def shelf_titles(shelf: Shelf, limit: int | None = None) -> list[Title]:
    """The active titles on a shelf, in shelf order (withdrawn ones are skipped)."""
    titles = [item.title for item in shelf.items if item.title.status == TitleStatus.active]
    return titles[:limit] if limit is not None else titles
