"""LINE's webhook (Messaging API channel): signature check, redelivery de-duplication, follow/unfollow,
and the official account-link flow (link token → our sign-in page with a nonce → ``accountLink`` event).

The webhook is optional: linking and notices work with LIFF and push alone, for a city whose official
account's webhook already serves other services.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from elibrary.db import utcnow
from elibrary.errors import Conflict, DomainError
from elibrary.line import linking
from elibrary.line.client import USER_ID
from elibrary.line.models import AccountLinkNonce, WebhookEvent
from elibrary.patrons.models import Patron
from elibrary.security.crypto import DataCipher

log = logging.getLogger(__name__)
NONCE_MINUTES = 10  # LINE's link token lives 10 minutes
LINK_WORDS = ("図書館カード連携", "カード連携", "連携")
EVENT_MEMORY_DAYS = 7


class BadSignature(DomainError):
    """The webhook body is not signed with our channel secret."""

    code = "bad-signature"
    status = 401
    message_ja = "署名が正しくありません。"
    message_en = "Bad signature."


@dataclass(frozen=True)
class LinkRequest:
    """A friend asked in the chat to link a card: reply with our sign-in page for a fresh link token."""

    user_id: str
    reply_token: str


def verify_signature(secret: str | None, body: bytes, signature: str | None) -> None:
    """HMAC-SHA256 of the raw body keyed with the channel secret, Base64, compared in constant time."""
    if not secret or not signature:
        raise BadSignature()
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected, signature.strip()):
        raise BadSignature()


def handle_events(session: Session, cipher: DataCipher, payload: dict, now: datetime | None = None) -> list[LinkRequest]:
    """Apply each new event once (``webhookEventId``); return the chat requests to link a card."""
    now = now or utcnow()
    session.execute(delete(WebhookEvent).where(WebhookEvent.received_at < now - timedelta(days=EVENT_MEMORY_DAYS)))
    requests: list[LinkRequest] = []
    for event in payload.get("events") or []:
        if not isinstance(event, dict) or not _first_time(session, str(event.get("webhookEventId") or ""), now):
            continue
        user_id = str((event.get("source") or {}).get("userId") or "")
        if not USER_ID.match(user_id):
            continue  # groups, rooms, or no user: nothing of ours
        kind = event.get("type")
        if kind == "follow":
            linking.mark_blocked(session, cipher, user_id, False, now)
        elif kind == "unfollow":
            linking.mark_blocked(session, cipher, user_id, True, now)
        elif kind == "accountLink":
            _account_link(session, cipher, user_id, event.get("link") or {}, now)
        elif kind == "message" and _asks_to_link(event) and event.get("replyToken"):
            requests.append(LinkRequest(user_id, str(event["replyToken"])))
    session.flush()
    return requests


def _first_time(session: Session, event_id: str, now: datetime) -> bool:
    if not event_id or len(event_id) > 64:
        return False
    try:
        with session.begin_nested():
            session.add(WebhookEvent(event_id=event_id, received_at=now))
    except IntegrityError:
        log.info("a redelivered LINE webhook event was ignored")
        return False
    return True


def _asks_to_link(event: dict) -> bool:
    message = event.get("message") or {}
    return message.get("type") == "text" and str(message.get("text", "")).strip() in LINK_WORDS


def new_link_nonce(session: Session, patron: Patron, now: datetime | None = None) -> str:
    """A single-use nonce for LINE's account-link redirect, after the patron signed in with card + password."""
    now = now or utcnow()
    nonce = secrets.token_urlsafe(32)
    session.add(AccountLinkNonce(nonce_hash=_hash(nonce), patron_id=patron.id, expires_at=now + timedelta(minutes=NONCE_MINUTES)))
    session.flush()
    return nonce


def _account_link(session: Session, cipher: DataCipher, user_id: str, link: dict, now: datetime) -> None:
    nonce = str(link.get("nonce") or "")
    row = session.scalar(select(AccountLinkNonce).where(AccountLinkNonce.nonce_hash == _hash(nonce))) if nonce else None
    if row is not None:
        session.delete(row)  # single use, whatever the result
    if link.get("result") != "ok" or row is None or row.expires_at <= now:
        log.info("a LINE account-link event was refused (failed, unknown or expired nonce)")
        return
    patron = session.get(Patron, row.patron_id)
    if patron is None:
        return
    try:
        linking.link(session, cipher, patron, user_id, via="account-link")
    except Conflict as exc:
        log.info("a LINE account-link event was refused: %s", exc.code)


def _hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()
