"""Notices to patrons (hold ready, loan due soon), queued in the outbox and delivered after commit.

Patrons may have no address yet (the patrons domain adds e-mail and LINE). The intent is recorded
on the row either way (``Hold.notified_at``, ``Loan.due_notice_sent_at``), so a notice is never sent
twice, and the shelf page shows the same news to a patron without an address.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from elibrary.catalog.models import Title
from elibrary.lending.models import Hold, Loan
from elibrary.notify.outbox import enqueue
from elibrary.patrons.models import Patron
from elibrary.security.crypto import DataCipher

log = logging.getLogger(__name__)


def contact_address(session: Session, patron: Patron, cipher: DataCipher) -> tuple[str, str] | None:
    """Where to notify the patron, as ``(channel, address)``, or None when no address is known.

    The patrons domain owns addresses (``patrons.contact.notification_address``, an e-mail for now).
    """
    from elibrary.patrons.contact import notification_address

    email = notification_address(session, cipher, patron)
    return ("email", email) if email else None


def _send(session: Session, cipher: DataCipher, patron: Patron | None, kind: str, subject: str, body: str) -> bool:
    from elibrary.line.recipients import messages_for  # the patron's channels: LINE, e-mail or both

    messages = messages_for(session, cipher, patron, kind=kind, subject=subject, body=body) if patron is not None else []
    if not messages:
        log.info("no address for a %s notice; shown on the patron's shelf only", kind)
        return False
    for message in messages:
        enqueue(session, cipher, message)
    return True


def _tokyo(moment: datetime) -> str:
    from elibrary.lending.policy import TOKYO

    return moment.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")


def hold_ready(session: Session, cipher: DataCipher, hold: Hold, now: datetime) -> bool:
    """Tell the patron their hold is ready to borrow until ``ready_until``."""
    title = session.get(Title, hold.title_id)
    patron = session.get(Patron, hold.patron_id)
    name = title.title if title else ""
    until = _tokyo(hold.ready_until) if hold.ready_until else ""
    sent = _send(
        session,
        cipher,
        patron,
        "hold-ready",
        f"予約の本が借りられます: {name}",
        f"予約された「{name}」をお借りいただけます。{until} までにマイ本棚から借りてください。\n"
        f"Your hold on \"{name}\" is ready. Borrow it from My Shelf by {until} (Japan time).",
    )
    hold.notified_at = now
    return sent


def due_soon(session: Session, cipher: DataCipher, loan: Loan, now: datetime) -> bool:
    """Remind the patron that a loan ends soon (it returns itself; e-books have no overdue)."""
    title = session.get(Title, loan.title_id)
    patron = session.get(Patron, loan.patron_id)
    name = title.title if title else ""
    due = _tokyo(loan.due_at)
    sent = _send(
        session,
        cipher,
        patron,
        "due-soon",
        f"返却期限が近づいています: {name}",
        f"「{name}」の貸出期限は {due} です。期限になると自動的に返却されます。\n"
        f"Your loan of \"{name}\" ends at {due} (Japan time) and will be returned automatically.",
    )
    loan.due_notice_sent_at = now
    return sent
