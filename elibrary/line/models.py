"""LINE links (LINE連携), used ID tokens, account-link nonces, notice preferences and webhook events.

The LINE user id is personal data of a kind (it names a person to LINE): it is stored encrypted, and
found by its keyed hash. The unique constraints are the rule "one LINE user, one card; one card, one
LINE user", enforced by the database so that two concurrent attempts cannot both win.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from elibrary.db import Base, UTCDateTime, utcnow

CHANNELS = ("line", "email", "both")


class LineLink(Base):
    """A patron's library card linked to one LINE user (連携)."""

    __tablename__ = "line_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"), unique=True)
    line_user_hash: Mapped[str] = mapped_column(String(64), unique=True)  # keyed hash of the LINE user id
    line_user_enc: Mapped[bytes] = mapped_column(LargeBinary)  # the id itself, for pushes
    via: Mapped[str] = mapped_column(String(20), default="liff")  # liff, account-link
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the user blocked the account: no pushes
    paper_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # last ILS poll of paper holds/overdues


class UsedIdToken(Base):
    """An ID token already exchanged: each token works once (replay protection), kept until it expires."""

    __tablename__ = "line_used_id_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the token
    line_user_enc: Mapped[bytes] = mapped_column(LargeBinary)  # whom it names: the browser session refers to this row
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AccountLinkNonce(Base):
    """A nonce of LINE's account-link flow: made after card sign-in, redeemed by the ``accountLink`` event."""

    __tablename__ = "line_account_link_nonces"

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce_hash: Mapped[str] = mapped_column(String(64), unique=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NoticePreference(Base):
    """How a patron wants notices: LINE, e-mail or both, and whether book titles may be named."""

    __tablename__ = "notice_preferences"

    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), default="both")
    include_titles: Mapped[bool] = mapped_column(Boolean, default=False)


class PaperNotice(Base):
    """A paper-book event already notified (hold ready, overdue): never twice while the ILS still lists it."""

    __tablename__ = "line_paper_notices"
    __table_args__ = (UniqueConstraint("patron_id", "kind", "item_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # paper-hold-ready, overdue
    item_hash: Mapped[str] = mapped_column(String(64))  # keyed hash of the ILS item id
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookEvent(Base):
    """A webhook event already handled (``webhookEventId``): redeliveries are ignored."""

    __tablename__ = "line_webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
