"""What LINE delivery teaches, applied in the outbox's transaction: blocked users, and the monthly quota.

A user who blocked the account gets no more pushes (``LineLink.blocked_at``; a follow event clears it).
When the month's message quota is used up, the notice goes by e-mail where the patron has an address,
and the library's administrators are told once a month.
"""
from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.line import linking
from elibrary.notify.base import Message
from elibrary.notify.models import OutboxMessage
from elibrary.notify.outbox import enqueue
from elibrary.patrons.models import Patron
from elibrary.security.crypto import DataCipher

log = logging.getLogger(__name__)
TOKYO = ZoneInfo("Asia/Tokyo")
QUOTA_ALERT_KIND = "line-quota-alert"


def apply_feedback(session: Session, cipher: DataCipher, feedback: list[tuple[str, str, Message]], now: datetime) -> None:
    """Mark blocked users; reroute quota-stopped notices to e-mail and alert staff."""
    quota_hit = False
    for event, line_user, message in feedback:
        if event == "blocked":
            linking.mark_blocked(session, cipher, line_user, True, now)
            log.info("a LINE user blocked the account; pushes to them stop")
        elif event == "quota":
            quota_hit = True
            _reroute_to_email(session, cipher, line_user, message)
    if quota_hit:
        _alert_staff_once_a_month(session, cipher, now)
    session.flush()


def _reroute_to_email(session: Session, cipher: DataCipher, line_user: str, message: Message) -> None:
    from elibrary.patrons.contact import notification_address

    link = linking.link_for_user(session, cipher, line_user)
    patron = session.get(Patron, link.patron_id) if link is not None else None
    email = notification_address(session, cipher, patron) if patron is not None else None
    if email is None:
        log.warning("LINE quota used up and no e-mail address: a %s notice stays on the patron's page only", message.kind)
        return
    enqueue(session, cipher, Message(channel="email", address=email, subject=message.subject, body=message.body, kind=message.kind))


def _alert_staff_once_a_month(session: Session, cipher: DataCipher, now: datetime) -> None:
    from elibrary.staff.models import Role, StaffUser

    log.error("LINE monthly message quota is used up: notices fall back to e-mail until next month")
    local = now.astimezone(TOKYO)
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    already = session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.kind == QUOTA_ALERT_KIND, OutboxMessage.created_at >= month_start).limit(1)
    )
    if already is not None:
        return
    admins = session.scalars(select(StaffUser).where(StaffUser.role == Role.admin)).all()
    for admin in admins:
        if not admin.is_active:
            continue
        enqueue(
            session,
            cipher,
            Message(
                channel="email",
                address=admin.email,
                subject="LINEの月間メッセージ数が上限に達しました / LINE monthly message quota used up",
                body=(
                    "LINE公式アカウントの今月のメッセージ数が上限に達したため、LINEへの通知を送れません。"
                    "メールアドレスのある利用者にはメールで通知しています。プランの見直しをご検討ください。\n"
                    "The LINE official account has used up this month's messages. Notices go by e-mail where the patron has an address."
                ),
                kind=QUOTA_ALERT_KIND,
            ),
        )
