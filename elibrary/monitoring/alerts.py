"""Unauthorised-access detection (不正アクセスの検知): lockouts and bursts of failures become a notice to staff.

The ``security-alerts`` job looks at the security events since its last alert. When a sign-in was locked,
or failures from anywhere passed ``ELIBRARY_SECURITY_ALERT_FAILURES`` within the window, it queues one
e-mail through the outbox to ``ELIBRARY_SECURITY_ALERT_TO`` (else every active admin) and records an
``alert.sent`` event. At most one alert per ``ELIBRARY_SECURITY_ALERT_MINUTES``: an attack that goes on
for hours is one e-mail an hour, not thousands. The e-mail names counts, kinds and client addresses,
never a card number or e-mail typed.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.notify.base import Message
from elibrary.notify.outbox import enqueue
from elibrary.security.events import SecurityEvent, record_security_event
from elibrary.staff.models import Role, StaffUser

ALERTING_KINDS = ("signin.failure", "signin.lockout", "staff.totp.failure", "network.refused", "upload.malware")


def recipients(session: Session, settings: Any) -> list[str]:
    """``ELIBRARY_SECURITY_ALERT_TO`` (comma-separated), else every active admin's e-mail."""
    configured = [a.strip() for a in str(settings.get("ELIBRARY_SECURITY_ALERT_TO") or "").split(",") if a.strip()]
    if configured:
        return configured
    return list(session.scalars(select(StaffUser.email).where(StaffUser.role == Role.admin, StaffUser.active.is_(True))))


def check_and_alert(session: Session, cipher: Any, settings: Any, now: datetime) -> str:
    """Queue one alert if the events since the last one call for it; returns a line for the operator."""
    quiet = timedelta(minutes=int(settings.get("ELIBRARY_SECURITY_ALERT_MINUTES") or 60))
    last = session.scalar(select(SecurityEvent.at).where(SecurityEvent.kind == "alert.sent").order_by(SecurityEvent.at.desc()).limit(1))
    if last is not None and now - last < quiet:
        return "security alerts: quiet (one alert per window)"
    since = last if last is not None else now - quiet
    rows = list(session.scalars(select(SecurityEvent).where(SecurityEvent.at > since, SecurityEvent.kind.in_(ALERTING_KINDS))))
    kinds = Counter(row.kind for row in rows)
    threshold = int(settings.get("ELIBRARY_SECURITY_ALERT_FAILURES") or 20)
    failures = kinds["signin.failure"] + kinds["staff.totp.failure"]
    if not (kinds["signin.lockout"] or kinds["upload.malware"] or kinds["staff.totp.failure"] >= 3 or failures >= threshold):
        return "security alerts: nothing to report"
    to = recipients(session, settings)
    body = _body(rows, kinds, since, settings)
    for address in to:
        enqueue(session, cipher, Message(channel="email", address=address, subject="【電子図書館】不正アクセスの疑い / Possible unauthorised access",
                                         body=body, kind="security-alert"))
    counts = {kind.replace(".", "_"): count for kind, count in kinds.items()}
    record_security_event(session, "alert.sent", actor_kind="system", detail={"recipients": len(to), **counts}, at=now)
    return f"security alerts: alert queued for {len(to)} staff"


def _body(rows: list[SecurityEvent], kinds: Counter, since: datetime, settings: Any) -> str:
    addresses = Counter(row.client_address or "-" for row in rows)
    lines = [
        f"{settings.get('ELIBRARY_LIBRARY_NAME') or '電子図書館'}: {since:%Y-%m-%d %H:%M} (UTC) 以降のセキュリティイベント",
        "Security events since the time above:",
        "",
    ]
    lines += [f"  {kind}: {count}" for kind, count in sorted(kinds.items())]
    lines += ["", "接続元（上位） / Top client addresses:"]
    lines += [f"  {address}: {count}" for address, count in addresses.most_common(10)]
    lines += ["", "職員メニュー →「セキュリティイベント」で詳細を確認してください。", "See Staff menu → Security events for details."]
    return "\n".join(lines)


def scheduled_check(runtime: Any, now: datetime) -> str:
    """The ``security-alerts`` job (declared in the wiring room)."""
    with runtime.db.scope() as session:
        return check_and_alert(session, runtime.cipher, runtime.settings, now)


def purge_old_events(runtime: Any, now: datetime) -> str:
    """The ``security-events-retention`` job: events older than ``ELIBRARY_SECURITY_EVENTS_DAYS`` go."""
    from sqlalchemy import delete

    days = int(runtime.settings.get("ELIBRARY_SECURITY_EVENTS_DAYS") or 400)
    with runtime.db.scope() as session:
        result = session.execute(delete(SecurityEvent).where(SecurityEvent.at < now - timedelta(days=days)))
        return f"security events: {result.rowcount or 0} older than {days} days removed"
