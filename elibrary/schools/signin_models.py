"""Rows of school sign-in: QR sign-in cards, OpenID Connect providers per school, and linked OIDC subjects.

Secrets are never stored as they are: QR tokens and link codes as SHA-256 (they are long random values, or
throttled), OIDC client secrets encrypted (``security.crypto``), OIDC subjects as keyed hashes.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from elibrary.db import Base, UTCDateTime, utcnow


class SignInCard(Base):
    """A school account's sign-in card (ログインカード): the QR token and the one-time SSO link code, both hashed.

    One row per account: issuing a new card replaces the row, so the old card stops working at once.
    """

    __tablename__ = "school_signin_cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the token's random part
    link_code_hash: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of the SSO link code; None once used
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by: Mapped[str] = mapped_column(String(80), default="")  # "s:3" (staff) or "cli"
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OidcProvider(Base):
    """A school's OpenID Connect sign-in (Google Workspace for Education, Microsoft Entra ID, ...).

    ``issuer``/``client_id``/secret left empty use the installation's default (``ELIBRARY_OIDC_*``). Which
    accounts belong to the school: any of the Google ``hd`` domains, Microsoft tenant ids (``tid``) or
    e-mail domains listed (space-separated); an account matching none is refused.
    """

    __tablename__ = "school_oidc_providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_code: Mapped[str] = mapped_column(String(40), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    issuer: Mapped[str] = mapped_column(String(300), default="")
    client_id: Mapped[str] = mapped_column(String(300), default="")
    client_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    hosted_domains: Mapped[str] = mapped_column(Text, default="")  # Google hd
    tenant_ids: Mapped[str] = mapped_column(Text, default="")  # Microsoft tid
    email_domains: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class OidcLink(Base):
    """An OIDC subject (issuer + sub) linked to a school account; after the first sign-in the subject alone decides."""

    __tablename__ = "school_oidc_links"
    __table_args__ = (UniqueConstraint("subject_hash", name="uq_school_oidc_links_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_hash: Mapped[str] = mapped_column(String(64))  # keyed hash of "issuer sub"
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"), index=True)
    school_code: Mapped[str] = mapped_column(String(40))
    via: Mapped[str] = mapped_column(String(20))  # "email" or "link-code"
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OidcPending(Base):
    """A sign-in sent to the provider and not yet back: state, nonce and PKCE verifier, used once."""

    __tablename__ = "school_oidc_pending"

    id: Mapped[int] = mapped_column(primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    school_code: Mapped[str] = mapped_column(String(40))
    nonce: Mapped[str] = mapped_column(String(100))
    code_verifier_enc: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
