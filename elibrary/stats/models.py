"""Statistics' own tables: library settings (age bands, small-cell threshold, report recipients) and registrations."""
from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, Date, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from elibrary.db import Base


class StatsSetting(Base):
    """A statistics setting the library changes on the settings page (JSON value)."""

    __tablename__ = "stats_settings"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[dict | list | int | str] = mapped_column(JSON)


class RegistrationEvent(Base):
    """A new patron (full, provisional, or provisional confirmed at the counter): category and age, never who."""

    __tablename__ = "stats_registrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_on: Mapped[date] = mapped_column(Date, index=True)  # Japan time
    kind: Mapped[str] = mapped_column(String(12))  # full, provisional, confirmed
    category: Mapped[str] = mapped_column(String(40), default="")
    age: Mapped[int | None] = mapped_column(SmallInteger)
