"""Turning maintenance mode on and off, and announcing a planned stop on the home page.

The flag itself needs no database (``elibrary.maintenance.flag``); the announcement (お知らせ) does, so a
stop can be switched on while the database is down and only its announcement waits.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.announcements.models import Announcement
from elibrary.errors import InvalidInput
from elibrary.maintenance.flag import MaintenanceState, announcement_window, clear_state, write_state
from elibrary.maintenance.times import describe_en, describe_ja

MARK = "maintenance"  # the audience_value of announcements written here, so they can be ended again
MAX_MESSAGE = 500


def turn_on(path: Path, now: datetime, *, message: str = "", starts_at: datetime | None = None, until: datetime | None = None,
            read_only: bool = False, by: str = "") -> MaintenanceState:
    """Write the flag (checked first: an end before the start or a too long message is refused)."""
    message = message.strip()
    if len(message) > MAX_MESSAGE:
        raise InvalidInput(f"お知らせ文は{MAX_MESSAGE}文字以内にしてください。", f"The message may be at most {MAX_MESSAGE} characters.", field="message")
    if until is not None and until <= (starts_at or now):
        raise InvalidInput("終了予定は開始より後にしてください。", "The planned end must be after the start.", field="until")
    if starts_at is not None and starts_at <= now:
        starts_at = None  # a start in the past is a start now
    state = MaintenanceState(message=message, starts_at=starts_at, until=until, read_only=read_only, set_at=now, set_by=by)
    write_state(path, state)
    return state


def turn_off(path: Path) -> bool:
    """Remove the flag; whether one was set."""
    return clear_state(path)


def start(session: Session, path: Path, now: datetime, *, lead_days: int, **options) -> MaintenanceState:
    """Turn maintenance on (``turn_on``'s options) and announce it on the home page if it is planned ahead."""
    state = turn_on(path, now, **options)
    announce(session, state, now, lead_days)
    return state


def stop(session: Session, path: Path, now: datetime) -> bool:
    """Turn maintenance off and end its home-page announcement; whether a flag was set."""
    end_announcements(session, now)
    return turn_off(path)


def announce(session: Session, state: MaintenanceState, now: datetime, lead_days: int) -> Announcement | None:
    """Show a planned stop on the home page from ``lead_days`` before it (earlier announcements of stops end)."""
    end_announcements(session, now)
    window = announcement_window(state, lead_days)
    if window is None:
        return None
    kind_ja, kind_en = ("一部機能の停止", "Partial service pause") if state.read_only else ("システムメンテナンス", "System maintenance")
    period_ja = describe_ja(state.starts_at) + (f" から {describe_ja(state.until)} まで" if state.until else " から")
    period_en = describe_en(state.starts_at) + (f" until {describe_en(state.until)}" if state.until else " onwards")
    what_ja = "貸出・予約・利用者登録がご利用いただけません（読書と検索はできます）。" if state.read_only else "電子図書館をご利用いただけません。"
    what_en = "Borrowing, holds and registration will be paused (reading and search keep working)." if state.read_only else "The e-library will be unavailable."
    body = f"{period_ja}、{what_ja}\n{state.message}\n\n{period_en}: {what_en}".replace("\n\n\n", "\n\n")
    row = Announcement(title=f"{kind_ja}のお知らせ / {kind_en}", body=body.strip(), audience="all", audience_value=MARK, show_on_site=True,
                       send_line=False, starts_at=window[0], ends_at=window[1], status="approved", approved_at=now)
    session.add(row)
    session.flush()
    return row


def end_announcements(session: Session, now: datetime) -> int:
    """End the home-page announcements of earlier planned stops; how many were showing or waiting."""
    rows = session.scalars(select(Announcement).where(Announcement.audience_value == MARK, Announcement.show_on_site.is_(True)))
    ended = 0
    for row in rows:
        if row.ends_at is None or row.ends_at > now:
            row.ends_at = now
            row.starts_at = min(row.starts_at or now, now)
            ended += 1
    session.flush()
    return ended
