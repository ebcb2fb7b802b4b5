"""Revocable sign-in sessions (ログインセッション): a server-side record behind every signed cookie.

Flask's session cookie is signed, not stored: on its own, a copied cookie would stay valid after
sign-out for as long as it says. So every sign-in also writes a ``SessionRecord`` and puts its random
token in the cookie; a request is signed in only while that record exists and has not expired.

API (plain functions taking a SQLAlchemy ``Session``; the caller's transaction commits):

- ``subject_of(user)`` — the record's subject, the flask-login id (``"p:12"`` patron, ``"s:3"`` staff;
  other sign-in kinds, e.g. schools or LINE, use their own prefix).
- ``start(session, subject, days=30) -> token`` — at sign-in; keep the token in the signed cookie.
- ``is_current(session, subject, token) -> bool`` — on each request: the record exists, is the
  subject's and has not expired.
- ``end(session, token)`` — sign-out of this browser only.
- ``end_all(session, subject, keep=None) -> int`` — sign out everywhere; also on a PIN or password
  change (``keep`` the token of the browser that made the change) and on staff deactivation.

Only a SHA-256 of the token is stored, so a database copy cannot be turned into a cookie.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from elibrary.db import Base, UTCDateTime, utcnow

DEFAULT_DAYS = 30


class SessionRecord(Base):
    """One signed-in browser or app."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    subject: Mapped[str] = mapped_column(String(80), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def subject_of(user) -> str:
    """The subject of a signed-in user (its flask-login id)."""
    return user.get_id()


def start(session: Session, subject: str, days: int = DEFAULT_DAYS, now: datetime | None = None) -> str:
    """Record a new sign-in of ``subject``; returns the token for the cookie. Expired records of the subject go."""
    now = now or utcnow()
    session.execute(delete(SessionRecord).where(SessionRecord.subject == subject, SessionRecord.expires_at <= now))
    token = secrets.token_urlsafe(32)
    session.add(SessionRecord(token_hash=_hash(token), subject=subject, created_at=now, expires_at=now + timedelta(days=days)))
    session.flush()
    return token


def is_current(session: Session, subject: str, token: str | None, now: datetime | None = None) -> bool:
    """True while ``token`` is a live sign-in of ``subject``."""
    if not token:
        return False
    record = session.scalar(select(SessionRecord).where(SessionRecord.token_hash == _hash(token)))
    return record is not None and record.subject == subject and record.expires_at > (now or utcnow())


def end(session: Session, token: str | None) -> None:
    """End one sign-in (this browser)."""
    if token:
        session.execute(delete(SessionRecord).where(SessionRecord.token_hash == _hash(token)))


def end_all(session: Session, subject: str, keep: str | None = None) -> int:
    """End every sign-in of ``subject`` (except the one of token ``keep``); returns how many ended."""
    statement = delete(SessionRecord).where(SessionRecord.subject == subject)
    if keep:
        statement = statement.where(SessionRecord.token_hash != _hash(keep))
    return session.execute(statement).rowcount or 0
