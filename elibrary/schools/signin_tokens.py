"""QR sign-in tokens (QRログイン): a long random, revocable token per school account, printed on its card.

A token reads ``<installation>.<random>.<check>``:

- ``installation`` — this installation's id (a keyed hash of a fixed word under the lookup key, so it
  survives data-key rotation), so a card from another city's e-library is told apart;
- ``random`` — 256 random bits; only its SHA-256 is stored, in ``SignInCard.token_hash``;
- ``check`` — a keyed MAC of the two, so a mistyped or altered token is told apart from a revoked one
  without a database look-up.

The card's QR code holds ``<public URL>/school/qr#<token>``: the token travels in the URL *fragment*,
which browsers never send, and the page POSTs it, so it never reaches an access log. A token may be
used on any number of devices (two tablets, a scan twice); issuing a new card or revoking one makes the
old token fail at once. Plain functions taking a ``Session``; the caller commits.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from elibrary.db import utcnow
from elibrary.errors import DomainError
from elibrary.patrons.models import Patron
from elibrary.schools.models import Member
from elibrary.schools.signin_models import SignInCard
from elibrary.security import sessions
from elibrary.security.crypto import DataCipher

QR_PATH = "/school/qr"
LINK_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud and typed by children
LINK_CODE_LENGTH = 8
_TOKEN = re.compile(r"^([0-9a-f]{10})\.([A-Za-z0-9_-]{43})\.([0-9a-f]{16})$")


class QrSignInRefused(DomainError):
    """A QR sign-in that cannot be accepted; each reason has its own message."""

    code = "qr-sign-in-refused"
    status = 401


class TamperedToken(QrSignInRefused):
    """The token is not one this installation wrote (damaged, mistyped or altered)."""

    code = "qr-token-invalid"
    message_ja = "このQRコードは読み取れないか、書きかえられています。カードのQRコードをもう一度読み取ってください。"
    message_en = "This QR code cannot be read or has been altered. Please scan the card's QR code again."


class ForeignToken(QrSignInRefused):
    """The token comes from another installation (another city's e-library)."""

    code = "qr-token-foreign"
    message_ja = "このQRコードは、ほかの電子図書館のログインカードです。この図書館のカードを使ってください。"
    message_en = "This QR code is a sign-in card of another e-library. Please use this library's card."


class RevokedToken(QrSignInRefused):
    """A genuine card that has been replaced or revoked (or whose account has ended)."""

    code = "qr-token-revoked"
    message_ja = "このカードは使えなくなっています（新しいカードが発行されたか、取り消されました）。先生に新しいカードをもらってください。"
    message_en = "This card no longer works (a new card was issued or it was revoked). Please ask your teacher for a new card."


@dataclass(frozen=True)
class IssuedCard:
    """A freshly issued card's secrets, for printing once: never stored as they are."""

    patron_id: int
    token: str
    link_code: str


def installation_id(cipher: DataCipher) -> str:
    """This installation's id (10 hex digits), stable across data-key rotation."""
    return cipher.lookup_hash("elibrary-installation-id")[:10]


def _check(cipher: DataCipher, installation: str, random_part: str) -> str:
    return cipher.lookup_hash(f"qr-signin-token:{installation}.{random_part}")[:16]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_link_code() -> str:
    """A one-time SSO link code as printed on the card (``ABCD-EFGH``)."""
    code = "".join(secrets.choice(LINK_CODE_ALPHABET) for _ in range(LINK_CODE_LENGTH))
    return f"{code[:4]}-{code[4:]}"


def normalize_link_code(typed: str) -> str:
    """A link code as typed (any width, case, spaces or hyphens) in its canonical form without the hyphen."""
    import unicodedata

    folded = unicodedata.normalize("NFKC", typed or "").upper()
    return "".join(ch for ch in folded if ch.isalnum())


def link_code_hash(code: str) -> str:
    """The stored hash of a link code."""
    return _sha256("link-code:" + normalize_link_code(code))


def issue_cards(session: Session, cipher: DataCipher, patron_ids: Iterable[int], *, issued_by: str, end_sessions: bool = False) -> list[IssuedCard]:
    """Issue a new card (QR token and link code) to each account; earlier cards stop working at once.

    With ``end_sessions`` (a lost card), the account's sign-ins on every device end too.
    """
    installation = installation_id(cipher)
    ids = list(dict.fromkeys(patron_ids))
    existing = {row.patron_id: row for row in session.scalars(select(SignInCard).where(SignInCard.patron_id.in_(ids)))} if ids else {}
    now = utcnow()
    issued = []
    for patron_id in ids:
        random_part = secrets.token_urlsafe(32)
        token = f"{installation}.{random_part}.{_check(cipher, installation, random_part)}"
        link_code = new_link_code()
        row = existing.get(patron_id)
        if row is None:
            row = SignInCard(patron_id=patron_id)
            session.add(row)
        row.token_hash, row.link_code_hash = _sha256(random_part), link_code_hash(link_code)
        row.issued_at, row.issued_by, row.last_used_at = now, issued_by, None
        if end_sessions:
            sessions.end_all(session, f"p:{patron_id}")
        issued.append(IssuedCard(patron_id, token, link_code))
    session.flush()
    return issued


def revoke_card(session: Session, patron_id: int) -> bool:
    """Revoke the account's card (lost or stolen) and end its sign-ins; True if it had one."""
    removed = session.execute(delete(SignInCard).where(SignInCard.patron_id == patron_id)).rowcount or 0
    sessions.end_all(session, f"p:{patron_id}")
    session.flush()
    return bool(removed)


def read_token(cipher: DataCipher, token: str) -> str:
    """The random part of a token written by this installation, or ``TamperedToken``/``ForeignToken``."""
    match = _TOKEN.match((token or "").strip().lstrip("#"))
    if match is None:
        raise TamperedToken()
    installation, random_part, check = match.groups()
    if installation != installation_id(cipher):
        raise ForeignToken()
    if not hmac.compare_digest(check, _check(cipher, installation, random_part)):
        raise TamperedToken()
    return random_part


def patron_for_token(session: Session, cipher: DataCipher, token: str) -> Patron:
    """The school account a QR token signs in (``QrSignInRefused`` with the reason otherwise)."""
    random_part = read_token(cipher, token)
    card = session.scalar(select(SignInCard).where(SignInCard.token_hash == _sha256(random_part)))
    patron = session.get(Patron, card.patron_id) if card is not None else None
    if patron is None or not may_sign_in(session, patron):
        raise RevokedToken()
    now = utcnow()
    card.last_used_at = now
    patron.last_login_at = now
    session.flush()
    return patron


def may_sign_in(session: Session, patron: Patron) -> bool:
    """A school account signs in while it is on the roll (a graduate until its sign-in cut-off, 卒業後の利用期限)."""
    member = session.scalar(select(Member).where(Member.patron_id == patron.id))
    if patron.source != "school" or member is None or member.status == "left":
        return False
    today = japan_today()
    if patron.expires_on is not None and today > patron.expires_on:
        return False
    return member.signin_until is None or today <= member.signin_until


def japan_today() -> date:
    """Today's date in Japan (cut-off dates are Japanese calendar days)."""
    return datetime.now(ZoneInfo("Asia/Tokyo")).date()


def qr_url(base_url: str, token: str) -> str:
    """The URL a card's QR code holds: the sign-in page, the token in the fragment."""
    return f"{base_url.rstrip('/')}{QR_PATH}#{token}"
