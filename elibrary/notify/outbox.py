"""Queue messages in the business transaction; deliver committed ones afterwards."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from elibrary.config import DEFAULTS
from elibrary.db import request_after_commit, utcnow
from elibrary.notify.base import BatchNotifier, DeliverLater, DeliveryFailed, Message, Notifier, SendSeparately, Undeliverable
from elibrary.notify.models import OutboxMessage
from elibrary.security.crypto import DataCipher

log = logging.getLogger(__name__)

AFTER_COMMIT_TASK = "deliver-notifications"
MAX_ATTEMPTS = 8


def enqueue(session: Session, cipher: DataCipher, message: Message) -> OutboxMessage:
    """Add ``message`` to the outbox; it is delivered only if this transaction commits."""
    row = OutboxMessage(
        channel=message.channel,
        kind=message.kind,
        address_enc=cipher.encrypt(message.address, "outbox.address"),
        subject_enc=cipher.encrypt(message.subject, "outbox.subject"),
        body_enc=cipher.encrypt(message.body, "outbox.body"),
    )
    session.add(row)
    request_after_commit(session, AFTER_COMMIT_TASK)
    return row


def deliver_pending(session: Session, cipher: DataCipher, notifier: Notifier, limit: int = 500) -> int:
    """Send due messages; failures are retried later with back-off. Returns how many were sent.

    For a notifier that can (``BatchNotifier``: LINE's multicast), identical texts go to many recipients in
    one request; a batch keeps its rows and its key until it is delivered, so a retry is never a second message.
    """
    now = utcnow()
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.deliver_after <= now, OutboxMessage.attempts < MAX_ATTEMPTS)
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # two workers never send the same message
    pending = [(row, _message(cipher, row)) for row in session.scalars(query)]
    sent = 0
    for unit in _delivery_units(pending, notifier):
        sent += _deliver(unit, notifier, now)
    session.flush()
    return sent


Pending = tuple[OutboxMessage, Message]


def _message(cipher: DataCipher, row: OutboxMessage) -> Message:
    return Message(
        channel=row.channel,
        kind=row.kind,
        address=cipher.decrypt(row.address_enc, "outbox.address"),
        subject=cipher.decrypt(row.subject_enc, "outbox.subject"),
        body=cipher.decrypt(row.body_enc, "outbox.body"),
        key=f"outbox:{row.id}:{row.created_at.isoformat()}",
    )


def _delivery_units(pending: list[Pending], notifier: Notifier) -> list[list[Pending]]:
    """Messages to send alone, and groups of identical ones for a batch notifier (a retried batch keeps its rows)."""
    if not isinstance(notifier, BatchNotifier):
        return [[item] for item in pending]
    units: list[list[Pending]] = []
    kept: dict[str, list[Pending]] = {}
    fresh: dict[tuple[str, str, str, str], list[Pending]] = {}
    for item in pending:
        row, message = item
        if row.batch_key:
            kept.setdefault(row.batch_key, []).append(item)
        elif notifier.batchable(message):
            fresh.setdefault((message.channel, message.kind, message.subject, message.body), []).append(item)
        else:
            units.append([item])
    units.extend(kept.values())
    size = max(1, notifier.batch_limit)
    for group in fresh.values():
        if len(group) == 1:
            units.append(group)
            continue
        for start in range(0, len(group), size):
            batch, key = group[start : start + size], str(uuid.uuid4())
            for row, _ in batch:
                row.batch_key = key
            units.append(batch)
    return units


def _deliver(unit: list[Pending], notifier: Notifier, now: datetime) -> int:
    """Send one message or one batch and record the outcome on its rows; returns how many were delivered."""
    rows = [row for row, _ in unit]
    for row in rows:
        row.attempts += 1
    try:
        if rows[0].batch_key:
            notifier.send_identical([message for _, message in unit], rows[0].batch_key)
        else:
            notifier.send(unit[0][1])
    except SendSeparately:
        for row in rows:
            row.attempts -= 1
            row.batch_key = None
        return sum(_deliver([item], notifier, now) for item in unit)
    except DeliverLater as exc:  # quiet hours, a rate limit: not an attempt used up
        for row in rows:
            row.attempts -= 1
            row.deliver_after = exc.not_before
        return 0
    except Undeliverable as exc:
        for row in rows:
            row.last_error = str(exc)[:200]
            row.attempts = MAX_ATTEMPTS
            log.warning("outbox message %s cannot be delivered; given up", row.id)
        return 0
    except DeliveryFailed as exc:
        for row in rows:
            row.last_error = str(exc)[:200]
            row.deliver_after = now + timedelta(minutes=2**row.attempts)
            log.warning("delivery of outbox message %s failed (attempt %s)", row.id, row.attempts)
        return 0
    for row in rows:
        row.sent_at = now
        # Delivered: the address and the text (which may name a book a patron waits for) serve nothing more
        # and are erased at once; the row keeps only channel, kind and times until ``purge_old``.
        row.address_enc = row.subject_enc = row.body_enc = b""
        row.batch_key = None
    return len(rows)


def purge_old(
    session: Session,
    now: datetime,
    *,
    sent_days: int = DEFAULTS["ELIBRARY_OUTBOX_RETENTION_DAYS"],
    failed_days: int = DEFAULTS["ELIBRARY_OUTBOX_FAILED_RETENTION_DAYS"],
) -> int:
    """Erase delivered messages ``sent_days`` after delivery, and given-up ones ``failed_days`` after they were queued.

    A delivered row has already lost its address and text (``deliver_pending``); what is left (channel,
    kind, times) is kept for the retention, for delivery statistics. Messages that gave up
    (``MAX_ATTEMPTS``) are kept longer so staff can see ``last_error``; messages still being retried are
    never purged. Returns how many rows were erased.
    """
    result = session.execute(
        delete(OutboxMessage).where(
            or_(
                OutboxMessage.sent_at <= now - timedelta(days=sent_days),
                and_(
                    OutboxMessage.sent_at.is_(None),
                    OutboxMessage.attempts >= MAX_ATTEMPTS,
                    OutboxMessage.created_at <= now - timedelta(days=failed_days),
                ),
            )
        ),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount or 0
