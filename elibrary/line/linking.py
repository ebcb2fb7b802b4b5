"""Linking a library card to a LINE user (LINE連携), unlinking, and finding the patron of a LINE user.

The LINE user comes only from an ID token verified by LINE (never from a user id or profile sent by the
browser); the card is checked with card number + password through the ILS, as at web sign-in, with the
same wording whichever was wrong and the same brute-force throttle. The unique constraints of
``line_links`` decide between concurrent attempts; a loser gets the same clear message as a late one.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from elibrary.audit.recording import Access, record
from elibrary.db import utcnow
from elibrary.errors import Conflict, DomainError, NotFound, ServiceUnavailable
from elibrary.line.client import LineClient, LineUnavailable, TokenRejected
from elibrary.line.models import LineLink, UsedIdToken
from elibrary.patrons.models import Patron
from elibrary.security.crypto import DataCipher


class LineSignInFailed(DomainError):
    """The ID token could not be verified (expired, forged, another channel) or was used before."""

    code = "line-token-rejected"
    status = 401
    message_ja = "LINEの認証を確認できませんでした。LINEアプリから開き直してください。"
    message_en = "Your LINE sign-in could not be verified. Please open this page again from the LINE app."


class LineDown(ServiceUnavailable):
    """LINE's verify endpoint did not answer."""

    code = "line-unavailable"
    message_ja = "LINEに接続できません。しばらくしてからお試しください。"
    message_en = "Cannot reach LINE. Please try again later."


class LineUserAlreadyLinked(Conflict):
    """This LINE user already has a card linked."""

    code = "line-already-linked"
    message_ja = "このLINEアカウントはすでに図書館カードと連携しています。別のカードと連携するには、先に連携を解除してください。"
    message_en = "This LINE account is already linked to a library card. Unlink it first to link another card."


class CardAlreadyLinked(Conflict):
    """This card is already linked to another LINE user."""

    code = "card-already-linked"
    message_ja = "この図書館カードはすでに別のLINEアカウントと連携しています。連携を解除してからお試しください。"
    message_en = "This library card is already linked to another LINE account. Unlink it first."


def line_user_hash(cipher: DataCipher, line_user_id: str) -> str:
    """The keyed hash a LINE user id is found by."""
    return cipher.lookup_hash("line:" + line_user_id)


def verify_id_token(session: Session, client: LineClient, cipher: DataCipher, id_token: str, now: datetime | None = None) -> UsedIdToken:
    """Verify ``id_token`` with LINE and spend it (each token works once).

    Returns the spent-token row, which names the LINE user (``verified_line_user``) until the token
    expires: the browser session keeps only the row's ``token_hash``, so it ends with the token.
    """
    now = now or utcnow()
    try:
        claims = client.verify_id_token(id_token)
    except TokenRejected:
        raise LineSignInFailed() from None
    except LineUnavailable:
        raise LineDown() from None
    token_hash = hashlib.sha256(id_token.encode()).hexdigest()
    session.execute(delete(UsedIdToken).where(UsedIdToken.expires_at < now))
    if session.scalar(select(UsedIdToken.id).where(UsedIdToken.token_hash == token_hash)) is not None:
        raise LineSignInFailed()
    try:
        with session.begin_nested():
            row = UsedIdToken(
                token_hash=token_hash,
                line_user_enc=cipher.encrypt(claims.sub, "line.user"),
                expires_at=datetime.fromtimestamp(claims.exp, timezone.utc),
            )
            session.add(row)
    except IntegrityError:  # the same token sent twice at once: one wins
        raise LineSignInFailed() from None
    return row


def verified_line_user(session: Session, cipher: DataCipher, token_hash: str | None, now: datetime | None = None) -> str | None:
    """The LINE user of a token verified earlier in this browser session, while that token is valid."""
    if not token_hash:
        return None
    row = session.scalar(select(UsedIdToken).where(UsedIdToken.token_hash == token_hash))
    if row is None or row.expires_at <= (now or utcnow()):
        return None
    return cipher.decrypt(row.line_user_enc, "line.user")


def link_for_user(session: Session, cipher: DataCipher, line_user_id: str) -> LineLink | None:
    """The link of this LINE user, if any."""
    return session.scalar(select(LineLink).where(LineLink.line_user_hash == line_user_hash(cipher, line_user_id)))


def link_for_patron(session: Session, patron_id: int) -> LineLink | None:
    """The patron's LINE link, if any."""
    return session.scalar(select(LineLink).where(LineLink.patron_id == patron_id))


def patron_for_line_user(session: Session, cipher: DataCipher, line_user_id: str) -> Patron | None:
    """The active patron linked to this LINE user (for the signed-in launch), or None."""
    link = link_for_user(session, cipher, line_user_id)
    if link is None:
        return None
    patron = session.get(Patron, link.patron_id)
    return patron if patron is not None and patron.is_active else None


def line_user_of(link: LineLink, cipher: DataCipher) -> str:
    """The LINE user id of a link, in clear (for pushes)."""
    return cipher.decrypt(link.line_user_enc, "line.user") or ""


def link(session: Session, cipher: DataCipher, patron: Patron, line_user_id: str, *, via: str = "liff", address: str | None = None) -> LineLink:
    """Link ``patron`` to ``line_user_id``; refuse if either side is already linked (nothing changes then)."""
    user_hash = line_user_hash(cipher, line_user_id)
    _refuse_existing(session, user_hash, patron.id)
    row = LineLink(patron_id=patron.id, line_user_hash=user_hash, line_user_enc=cipher.encrypt(line_user_id, "line.user"), via=via)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # A concurrent attempt committed first (PostgreSQL waits for it, then reports the duplicate).
        _refuse_existing(session, user_hash, patron.id)
        raise LineUserAlreadyLinked() from None
    _log(session, "line-link", patron.id, f"linked via {via}", address)
    return row


def _refuse_existing(session: Session, user_hash: str, patron_id: int) -> None:
    if session.scalar(select(LineLink.id).where(LineLink.line_user_hash == user_hash)) is not None:
        raise LineUserAlreadyLinked()
    if session.scalar(select(LineLink.id).where(LineLink.patron_id == patron_id)) is not None:
        raise CardAlreadyLinked()


def unlink(session: Session, patron_id: int, *, staff=None, address: str | None = None) -> None:
    """Remove the patron's LINE link (by the patron from LIFF or マイページ, or by ``staff``)."""
    row = link_for_patron(session, patron_id)
    if row is None:
        raise NotFound("LINE連携はありません。", "There is no LINE link.")
    session.delete(row)
    session.flush()
    _log(session, "line-unlink", patron_id, "unlinked by staff" if staff is not None else "unlinked by the patron", address, staff)


def mark_blocked(session: Session, cipher: DataCipher, line_user_id: str, blocked: bool, now: datetime | None = None) -> bool:
    """Record that the user blocked (or unblocked) the account; returns whether a link was found."""
    row = link_for_user(session, cipher, line_user_id)
    if row is None:
        return False
    row.blocked_at = (now or utcnow()) if blocked else None
    session.flush()
    return True


def _log(session: Session, subject: str, patron_id: int, detail: str, address: str | None, staff=None) -> None:
    record(
        session,
        Access(
            staff_id=staff.id if staff is not None else None,
            staff_email=staff.email if staff is not None else "",
            address=address,
            action="change",
            subject=subject,
            patron_id=patron_id,
            fields=("line_link",),
            detail=detail,
        ),
    )
