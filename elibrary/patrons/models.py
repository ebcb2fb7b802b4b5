"""Patrons (利用者). Personal data is encrypted at rest; the card number is found by its keyed hash."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from elibrary.db import Base, UTCDateTime, utcnow


class Patron(Base):
    """A library user known to elibrary, from the ILS, local registration or a school roster."""

    __tablename__ = "patrons"

    id: Mapped[int] = mapped_column(primary_key=True)
    card_hash: Mapped[str] = mapped_column(String(64), unique=True)  # HMAC-SHA256 of the normalised card number
    card_enc: Mapped[bytes] = mapped_column(LargeBinary)  # AES-GCM, see security.crypto
    name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    email_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # notification address (registration or ILS)
    email_hash: Mapped[str | None] = mapped_column(String(64), index=True)  # HMAC of the normalised e-mail
    # date of birth (registration or the ILS), encrypted: statistics derive the age at each event, never store the date
    birth_date_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    pin_hash: Mapped[str | None] = mapped_column(String(255))  # local patrons only; ILS patrons check PINs there
    category: Mapped[str] = mapped_column(String(40), default="citizen", index=True)
    source: Mapped[str] = mapped_column(String(20), default="local")  # local, sip2, http, provisional, school
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    block_reason: Mapped[str] = mapped_column(String(200), default="")
    expires_on: Mapped[date | None] = mapped_column(Date)
    keep_reading_history: Mapped[bool] = mapped_column(Boolean, default=False)  # 図書館の自由: off unless opted in
    locale: Mapped[str] = mapped_column(String(8), default="ja")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # flask-login: the id is prefixed so patrons and staff share one login manager.
    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_staff = False

    def get_id(self) -> str:
        """Session id for flask-login."""
        return f"p:{self.id}"


class Registration(Base):
    """A provisional registration (利用者仮登録) made online, until staff confirm identity or it expires.

    Every personal field is encrypted; ``email_hash`` and ``identity_hash`` (name + birth date + address)
    are keyed hashes used to catch duplicates. Expired and rejected registrations are deleted.
    """

    __tablename__ = "patron_registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="unconfirmed", index=True)  # unconfirmed, provisional
    name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    kana_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    birth_date_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    postal_code_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    email_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    email_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    identity_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the e-mailed token
    token_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    patron_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # erased after this unless staff confirmed
