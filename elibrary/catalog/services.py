"""Catalog services: titles (書誌), contributors, subjects, collections.

Plain functions taking a ``Session``; they flush, never commit. The title record itself (``TitleData``,
its validation, ``create_title``/``update_title``) is in ``catalog.titles``, re-exported here.
Shelves are in ``catalog.shelves``, book files in ``catalog.files``, covers in ``catalog.covers``.
"""
from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from elibrary.catalog.isbn import parse_optional_isbn
from elibrary.catalog.models import Audience, Collection, Title, TitleContributor, TitleStatus
from elibrary.catalog.titles import (  # noqa: F401  (API: the title record lives in catalog.titles)
    ACCESSIBILITY_FEATURES,
    MAX_AGE,
    ContributorCredit,
    SubjectEntry,
    TitleData,
    _enum_value,
    collection_by_code,
    create_title,
    find_or_create_contributor,
    title_data_of,
    update_title,
    validate_title_data,
)
from elibrary.errors import InvalidInput, NotFound


def withdraw_title(session: Session, title: Title) -> Title:
    """Withdraw (除籍): hidden from the OPAC and search, kept for statistics and loans in flight."""
    title.status = TitleStatus.withdrawn
    session.flush()
    return title


def reinstate_title(session: Session, title: Title) -> Title:
    """Undo a withdrawal."""
    title.status = TitleStatus.active
    session.flush()
    return title


def get_title(session: Session, title_id: int | str, *, include_withdrawn: bool = False) -> Title:
    """The title with this id; ``NotFound`` when absent (or withdrawn, unless ``include_withdrawn``)."""
    try:
        key = int(title_id)
    except (TypeError, ValueError):
        raise NotFound("資料が見つかりません。", "Title not found.") from None
    title = session.get(Title, key)
    if title is None or (not include_withdrawn and title.status != TitleStatus.active):
        raise NotFound("資料が見つかりません。", "Title not found.")
    return title


def find_title_by_isbn(session: Session, isbn: str) -> Title | None:
    """The title with this ISBN (any form accepted), or ``None``."""
    digits = parse_optional_isbn(isbn)
    return session.scalar(select(Title).where(Title.isbn == digits)) if digits else None


def _active():
    return select(Title).where(Title.status == TitleStatus.active)


def related_titles(session: Session, title: Title, limit: int = 12) -> list[Title]:
    """Active titles related to ``title``: same series (in volume order), same contributors, same NDC."""
    found: dict[int, Title] = {}

    def take(stmt) -> None:
        for other in session.scalars(stmt.where(Title.id != title.id).limit(limit)).unique():
            if len(found) < limit:
                found.setdefault(other.id, other)

    if title.series_title:
        for other in series_volumes(session, title.series_title):
            if other.id != title.id and len(found) < limit:
                found.setdefault(other.id, other)
    contributor_ids = [tc.contributor_id for tc in title.contributors]
    if contributor_ids and len(found) < limit:
        take(
            _active().join(TitleContributor).where(TitleContributor.contributor_id.in_(contributor_ids))
            .order_by(Title.published_on.desc().nulls_last(), Title.id.desc())
        )
    if title.ndc and len(found) < limit:
        take(_active().where(Title.ndc == title.ndc).order_by(Title.created_at.desc(), Title.id.desc()))
    return list(found.values())


def new_arrivals(session: Session, limit: int = 24, audience: Audience | str | None = None) -> list[Title]:
    """The most recently added active titles, optionally for one audience."""
    stmt = _active().options(selectinload(Title.contributors)).order_by(Title.created_at.desc(), Title.id.desc()).limit(limit)
    if audience:
        stmt = stmt.where(Title.audience == _enum_value(Audience, audience, "audience", "対象"))
    return list(session.scalars(stmt))


def series_volumes(session: Session, series_title: str) -> list[Title]:
    """The active titles of a series, in volume order."""
    titles = session.scalars(_active().where(Title.series_title == series_title).order_by(Title.id))
    return sorted(titles, key=lambda t: _volume_key(t.volume))


def _volume_key(volume: str) -> tuple:
    # "2" before "10"; 上 before 下; volumes without a number last.
    text = unicodedata.normalize("NFKC", volume or "")
    number = re.search(r"\d+", text)
    order = {"上": 1, "中": 2, "下": 3, "前": 1, "後": 3}
    return (int(number.group()) if number else order.get(text[:1], 10**6), text)


def ensure_collection(session: Session, code: str, name: str, name_en: str = "") -> Collection:
    """The collection with this code, created with these names if new."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", code or ""):
        raise InvalidInput("コレクションのコードは英小文字・数字・ハイフンで入力してください。",
                           "Collection codes are lower-case letters, digits and hyphens.", field="code")
    collection = session.scalar(select(Collection).where(Collection.code == code))
    if collection is None:
        collection = Collection(code=code, name=name, name_en=name_en)
        session.add(collection)
        session.flush()
    return collection


def list_collections(session: Session) -> list[Collection]:
    """All collections by code."""
    return list(session.scalars(select(Collection).order_by(Collection.code)))
