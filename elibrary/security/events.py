"""Security events (セキュリティイベント): sign-ins, lockouts, refusals, imports, backups, maintenance mode.

Each event is a row of ``security_events`` (the admin page and its CSV: ``elibrary.monitoring``) and a JSON
log line on the ``elibrary.security`` logger, with the request id. Neither ever holds a card number, PIN,
password, token or name: a patron or a typed e-mail is named by ``subject_ref``, a short keyed hash
(``subject_ref(cipher, kind, value)``) that staff can match by typing the card number into the filter;
staff who are known are named by their id. ``detail`` takes short plain values, and keys that look like
secrets are refused.

Other wings call ``record_security_event(session, kind, ...)`` inside their transaction, or
``record_security_event_now(db, kind, ...)`` when the event must be kept even if their work rolls back
(or when the database may be down: the log line is written first, whatever happens to the row).

Kinds (``KINDS``) are dotted names; new ones may be added freely, keep the existing ones stable.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from elibrary import logs
from elibrary.db import Base, Database, UTCDateTime, after_transaction, utcnow

log = logging.getLogger("elibrary.security")

KINDS: dict[str, tuple[str, str]] = {
    "signin.success": ("ログイン成功", "Sign-in succeeded"),
    "signin.failure": ("ログイン失敗", "Sign-in failed"),
    "signin.lockout": ("ロック（失敗の繰り返し）", "Locked after repeated failures"),
    "staff.totp.failure": ("職員の確認コード誤り", "Staff authenticator code wrong"),
    "permission.refused": ("権限のない操作を拒否", "Permission refused"),
    "network.refused": ("許可されていない場所からの職員ページ", "Staff page from outside the allowed networks"),
    "import.run": ("書誌・ファイルの取込", "Import"),
    "upload.malware": ("アップロードからマルウェア検出", "Malware found in an upload"),
    "backup.created": ("バックアップ作成", "Backup created"),
    "backup.failed": ("バックアップ失敗", "Backup failed"),
    "backup.restored": ("バックアップから復元", "Restored from a backup"),
    "maintenance.on": ("メンテナンスモード開始", "Maintenance mode on"),
    "maintenance.off": ("メンテナンスモード終了", "Maintenance mode off"),
    "alert.sent": ("職員への警告通知", "Alert sent to staff"),
}
ACTOR_KINDS = ("patron", "staff", "system", "anonymous")
ACTOR_LABELS = {"patron": ("利用者", "Patron"), "staff": ("職員", "Staff"), "system": ("システム", "System"), "anonymous": ("未ログイン", "Not signed in")}
SECRET_WORDS = ("pin", "password", "passwd", "token", "secret", "card", "name", "email", "mail", "address", "phone", "kana", "birth")
MAX_DETAIL_TEXT = 200


class SecurityEvent(Base):
    """One security event: what happened, to whom (pseudonymously), from where, in which request."""

    __tablename__ = "security_events"
    __table_args__ = (Index("ix_security_events_kind_at", "kind", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    actor_kind: Mapped[str] = mapped_column(String(12), default="anonymous")
    staff_id: Mapped[int | None] = mapped_column()  # a known staff member (never a patron's id: see subject_ref)
    subject_ref: Mapped[str | None] = mapped_column(String(24), index=True)  # keyed hash of the card or e-mail typed
    client_address: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict | None] = mapped_column(JSON)


def subject_ref(cipher, kind: str, value: str) -> str:
    """The pseudonym of a card number or staff e-mail in security events (16 hex characters of a keyed hash)."""
    return cipher.lookup_hash(f"security-event:{kind}:{value.strip().lower()}")[:16]


def clean_detail(detail: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``detail`` with short plain values; a key that names a secret or personal data is a programming error."""
    if not detail:
        return None
    cleaned: dict[str, Any] = {}
    for key, value in detail.items():
        if any(word in key.lower() for word in SECRET_WORDS):
            raise ValueError(f"security event detail {key!r} may hold a secret or personal data")
        if value is None or isinstance(value, (bool, int, float)):
            cleaned[key] = value
        else:
            cleaned[key] = str(value)[:MAX_DETAIL_TEXT]
    return cleaned


def _event(kind: str, *, actor_kind: str, staff_id: int | None, subject: str | None, address: str | None,
           detail: Mapping[str, Any] | None, at: datetime | None) -> SecurityEvent:
    if actor_kind not in ACTOR_KINDS:
        raise ValueError(f"unknown actor kind {actor_kind!r}")
    event = SecurityEvent(kind=kind, actor_kind=actor_kind, staff_id=staff_id, subject_ref=subject, client_address=(address or None),
                          request_id=logs.current_request_id(), detail=clean_detail(detail), at=at or utcnow())
    level = logging.WARNING if kind.endswith(("failure", "lockout", "refused", "failed", "malware")) else logging.INFO
    log.log(level, "security event %s", kind, extra={"event": kind, "actor_kind": actor_kind, "staff_id": staff_id,
                                                     "subject_ref": subject, "client_address": address, "detail": event.detail})
    return event


def record_security_event(session: Session, kind: str, *, actor_kind: str = "anonymous", staff_id: int | None = None,
                          subject: str | None = None, address: str | None = None, detail: Mapping[str, Any] | None = None,
                          at: datetime | None = None) -> SecurityEvent:
    """Log the event and add its row to ``session`` (kept if the caller's transaction commits)."""
    event = _event(kind, actor_kind=actor_kind, staff_id=staff_id, subject=subject, address=address, detail=detail, at=at)
    session.add(event)
    return event


def record_security_event_now(db: Database, kind: str, *, caller: Session | None = None, **fields: Any) -> None:
    """Log the event, then store it in a transaction of its own, even if the caller's work rolls back.

    With a ``caller`` session in a transaction (a web request that may hold SQLite's write lock), the row is
    written right after that transaction ends, committed or rolled back. A database that cannot take the
    row (down during maintenance) is logged, never raised: the log line is the record then.
    """
    event = _event(kind, actor_kind=fields.get("actor_kind", "anonymous"), staff_id=fields.get("staff_id"), subject=fields.get("subject"),
                   address=fields.get("address"), detail=fields.get("detail"), at=fields.get("at"))

    def store() -> None:
        try:
            with db.scope() as session:
                session.add(event)
        except Exception as exc:
            log.warning("security event %s not stored: %s", kind, type(exc).__name__)

    if caller is not None and caller.in_transaction():
        after_transaction(caller, store, what="storing a security event")
    else:
        store()


def recent_events(session: Session, *, kind: str | None = None, subject: str | None = None, address: str | None = None,
                  since: datetime | None = None, limit: int = 200) -> list[SecurityEvent]:
    """The newest events first, optionally of one kind, one subject, one client address, since a time."""
    query = select(SecurityEvent).order_by(SecurityEvent.at.desc(), SecurityEvent.id.desc())
    if kind:
        query = query.where(SecurityEvent.kind == kind)
    if subject:
        query = query.where(SecurityEvent.subject_ref == subject)
    if address:
        query = query.where(SecurityEvent.client_address == address)
    if since:
        query = query.where(SecurityEvent.at >= since)
    return list(session.scalars(query.limit(limit)))
