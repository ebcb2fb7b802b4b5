"""Queue messages in the business transaction; deliver committed ones afterwards."""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from elibrary.config import DEFAULTS
from elibrary.db import request_after_commit, utcnow
from elibrary.notify.base import BatchNotifier, DeliverLater, DeliveryFailed, Message, Notifier, SendSeparately, Undeliverable
from elibrary.notify.models import OutboxMessage
from elibrary.security.crypto import DataCipher

if TYPE_CHECKING:
    from elibrary.db import Database

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


# A claimed message is due again after this, for any worker: one that died while sending is replaced then. A pass
# stops starting new sends at half of it and gives the rest back, so a slow mail server never makes the claim lapse
# while its messages are still being sent (which would send them twice).
CLAIM = timedelta(minutes=15)


@dataclass(frozen=True)
class Claimed:
    """Messages claimed for one send: one message, or identical ones for a batch (``batch_key``)."""

    ids: tuple[int, ...]
    messages: tuple[Message, ...]
    batch_key: str | None


@dataclass(frozen=True)
class Outcome:
    """What one send did to its messages: ``sent``, ``later`` (not an attempt), ``failed`` (retried) or ``undeliverable``."""

    ids: tuple[int, ...]
    status: str
    error: str = ""
    not_before: datetime | None = None
    split: bool = False  # a batch the notifier sent one by one: its rows lose the batch key


def deliver_pending(db: Database, cipher: DataCipher, notifier: Notifier, limit: int = 500) -> int:
    """Send due messages; failures are retried later with back-off. Returns how many were sent.

    Three steps, so that no transaction is open while a mail server or LINE answers (on SQLite a transaction
    that writes holds the lock every sign-in and loan waits for): the due messages are claimed in one short
    transaction (``claim_due``), sent outside any, and their outcomes recorded in another short one, with what
    the notifier learnt (``after_delivery``: LINE blocks, the quota fallback).

    For a notifier that can (``BatchNotifier``: LINE's multicast), identical texts go to many recipients in
    one request; a batch keeps its rows and its key until it is delivered, so a retry is never a second message.
    """
    with db.scope() as session:
        claimed = claim_due(session, cipher, notifier, utcnow(), limit)
    outcomes = send_claimed(claimed, notifier)
    after_delivery = getattr(notifier, "after_delivery", None)  # the LINE notifier
    if not outcomes and after_delivery is None:
        return 0
    with db.scope() as session:
        sent = record_outcomes(session, outcomes, utcnow())
        if after_delivery is not None:
            after_delivery(session, cipher)
    return sent


def claim_due(session: Session, cipher: DataCipher, notifier: Notifier, now: datetime, limit: int = 500) -> list[Claimed]:
    """The due messages, grouped for sending and claimed until ``now + CLAIM`` (each claim is an attempt)."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.deliver_after <= now, OutboxMessage.attempts < MAX_ATTEMPTS)
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # two workers never claim the same message
    pending = [(row, _message(cipher, row)) for row in session.scalars(query)]
    units = _delivery_units(pending, notifier)
    for row, _ in pending:
        row.attempts += 1
        row.deliver_after = now + CLAIM
    session.flush()
    return [Claimed(tuple(row.id for row, _ in unit), tuple(message for _, message in unit), unit[0][0].batch_key) for unit in units]


def send_claimed(claimed: list[Claimed], notifier: Notifier, clock=time.monotonic) -> list[Outcome]:
    """Send each claimed unit (no transaction open); past half the claim the rest are given back for later."""
    began, outcomes = clock(), []
    for unit in claimed:
        if clock() - began > CLAIM.total_seconds() / 2:
            outcomes.append(Outcome(unit.ids, "later", not_before=utcnow()))
            continue
        outcomes.extend(_send(unit, notifier))
    return outcomes


def _send(unit: Claimed, notifier: Notifier, split: bool = False) -> list[Outcome]:
    try:
        if unit.batch_key:
            notifier.send_identical(list(unit.messages), unit.batch_key)
        else:
            notifier.send(unit.messages[0])
    except SendSeparately:
        return [o for i, m in zip(unit.ids, unit.messages, strict=True) for o in _send(Claimed((i,), (m,), None), notifier, split=True)]
    except DeliverLater as exc:  # quiet hours, a rate limit: not an attempt used up
        return [Outcome(unit.ids, "later", not_before=exc.not_before, split=split)]
    except Undeliverable as exc:
        return [Outcome(unit.ids, "undeliverable", error=str(exc)[:200], split=split)]
    except DeliveryFailed as exc:
        return [Outcome(unit.ids, "failed", error=str(exc)[:200], split=split)]
    except Exception as exc:  # a notifier's unexpected error: retried like a failure; the other messages still go, and are recorded
        # the type only: an error's text may carry the address or the message
        log.error("sending outbox message(s) %s failed unexpectedly: %s", ", ".join(map(str, unit.ids)), type(exc).__name__)
        return [Outcome(unit.ids, "failed", error=type(exc).__name__, split=split)]
    return [Outcome(unit.ids, "sent", split=split)]


def record_outcomes(session: Session, outcomes: list[Outcome], now: datetime) -> int:
    """Write what the sends did onto their rows; returns how many messages were delivered."""
    ids = [i for outcome in outcomes for i in outcome.ids]
    rows = {row.id: row for row in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))} if ids else {}
    sent = 0
    for outcome in outcomes:
        for row in (rows[i] for i in outcome.ids if i in rows):
            if outcome.split:
                row.batch_key = None
            sent += _record(row, outcome, now)
    session.flush()
    return sent


def _record(row: OutboxMessage, outcome: Outcome, now: datetime) -> int:
    if outcome.status == "later":
        row.attempts -= 1
        row.deliver_after = outcome.not_before
    elif outcome.status == "undeliverable":
        row.last_error = outcome.error
        row.attempts = MAX_ATTEMPTS
        log.warning("outbox message %s cannot be delivered; given up", row.id)
    elif outcome.status == "failed":
        row.last_error = outcome.error
        row.deliver_after = now + timedelta(minutes=2**row.attempts)
        log.warning("delivery of outbox message %s failed (attempt %s)", row.id, row.attempts)
    else:
        row.sent_at = now
        # Delivered: the address and the text (which may name a book a patron waits for) serve nothing more
        # and are erased at once; the row keeps only channel, kind and times until ``purge_old``.
        row.address_enc = row.subject_enc = row.body_enc = b""
        row.batch_key = None
        return 1
    return 0


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
