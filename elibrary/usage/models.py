"""Aggregate use tables: no patron, no address, no row per request."""
from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from elibrary.db import Base


class SearchQueryDay(Base):
    """How often a normalised catalog query was searched on a day, and what the last search found (検索ログ)."""

    __tablename__ = "usage_search_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    query_key: Mapped[str] = mapped_column(String(200), primary_key=True)  # search.analysis.normalize of the words
    shown: Mapped[str] = mapped_column(String(200), default="")  # the words as first typed that day
    searches: Mapped[int] = mapped_column(Integer, default=0)
    zero_hits: Mapped[int] = mapped_column(Integer, default=0)  # searches that found nothing
    last_hits: Mapped[int] = mapped_column(Integer, default=0)


class TitleViewDay(Base):
    """Views of a title's page on a day."""

    __tablename__ = "usage_title_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    title_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    views: Mapped[int] = mapped_column(Integer, default=0)


class VisitDay(Base):
    """Visits (sessions, not requests) on a day, per area: ``site`` (the OPAC) or ``reader``."""

    __tablename__ = "usage_visit_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    area: Mapped[str] = mapped_column(String(10), primary_key=True)
    visits: Mapped[int] = mapped_column(Integer, default=0)


class VisitSeen(Base):
    """Today's visitor hashes (HMAC of address and browser under the day's salt), erased with the salt next day."""

    __tablename__ = "usage_visits_seen"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    area: Mapped[str] = mapped_column(String(10), primary_key=True)
    visitor: Mapped[str] = mapped_column(String(32), primary_key=True)


class DaySalt(Base):
    """The random salt of one day's visitor hashes, shared by every worker; erased the next day."""

    __tablename__ = "usage_day_salts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    salt: Mapped[str] = mapped_column(String(64))
