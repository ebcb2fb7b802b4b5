"""A patron sets their own e-mail address, confirmed by a link sent to it (メールアドレスの変更).

Stateless: the link carries a signed, time-limited token naming the patron and the new address (encrypted
with the data key, so the address never appears in a URL or a log). Opening it while signed in as that
patron stores the address; nothing changes before that, so a typo never redirects notices.
"""
from __future__ import annotations

import base64

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.errors import Conflict, InvalidInput, NotFound
from elibrary.notify.base import Message
from elibrary.notify.outbox import enqueue
from elibrary.patrons.models import Patron
from elibrary.patrons.validation import normalize_email
from elibrary.security.crypto import DataCipher, DecryptionError

SALT = "patron-email-change"
MAX_AGE_HOURS = 24


class EmailLinkInvalid(NotFound):
    """The link is unknown, altered, for another patron, or too old."""

    code = "email-link-invalid"
    message_ja = "このリンクは無効か、有効期限が切れています。もう一度メールアドレスを設定してください。"
    message_en = "This link is not valid or has expired. Please set your e-mail address again."


class EmailInUse(Conflict):
    """Another patron already uses this address."""

    code = "email-in-use"
    message_ja = "このメールアドレスはほかの利用者が使っています。"
    message_en = "Another library user already uses this e-mail address."


def email_hash(cipher: DataCipher, email: str) -> str:
    """The lookup hash registration uses for an address."""
    return cipher.lookup_hash("email:" + email.lower())


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=SALT)


def request_change(session: Session, cipher: DataCipher, secret: str, patron: Patron, raw_email: str) -> tuple[str, str]:
    """Check the address and make the confirmation token; returns (normalised address, token). Nothing is stored yet."""
    try:
        email = normalize_email(raw_email)
    except ValueError:
        raise InvalidInput("メールアドレスの形式が正しくありません。", "That is not a valid e-mail address.", field="email") from None
    if not email:
        raise InvalidInput("メールアドレスを入力してください。", "Enter an e-mail address.", field="email")
    _check_unused(session, cipher, patron, email)
    sealed = base64.urlsafe_b64encode(cipher.encrypt(email, "patron.email-change")).decode()
    return email, _serializer(secret).dumps({"p": patron.id, "e": sealed})


def send_confirmation(session: Session, cipher: DataCipher, email: str, link: str, library_name: str) -> None:
    """Queue the confirmation e-mail to the new address (sent after commit)."""
    body = (
        f"{library_name}で、このメールアドレスをお知らせの送り先にする手続きがありました。\n"
        f"次のリンクを{MAX_AGE_HOURS}時間以内に、ログインした状態で開くと設定が完了します。\n\n{link}\n\n"
        "お心当たりのない場合は、このメールを破棄してください（設定は変わりません）。\n\n"
        f"Someone asked {library_name} to send notices to this address. Open the link above within {MAX_AGE_HOURS} hours, "
        "signed in, to confirm. If it was not you, ignore this e-mail: nothing changes.\n"
    )
    subject = f"【{library_name}】メールアドレスの確認 / Please confirm your e-mail address"
    enqueue(session, cipher, Message(channel="email", address=email, subject=subject, body=body, kind="confirm-email"))


def confirm_change(session: Session, cipher: DataCipher, secret: str, patron: Patron, token: str) -> str:
    """Store the address the token names, for the signed-in ``patron`` only; returns it."""
    try:
        payload = _serializer(secret).loads(token, max_age=MAX_AGE_HOURS * 3600)
    except (SignatureExpired, BadSignature):
        raise EmailLinkInvalid() from None
    if not isinstance(payload, dict) or payload.get("p") != patron.id:
        raise EmailLinkInvalid()
    try:
        email = cipher.decrypt(base64.urlsafe_b64decode(str(payload.get("e", ""))), "patron.email-change")
    except (DecryptionError, ValueError, IndexError):  # an altered ciphertext (the signature makes it unlikely)
        raise EmailLinkInvalid() from None
    if not email:
        raise EmailLinkInvalid()
    _check_unused(session, cipher, patron, email)
    patron.email_enc = cipher.encrypt(email, "patron.email")
    patron.email_hash = email_hash(cipher, email)
    session.flush()
    return email


def _check_unused(session: Session, cipher: DataCipher, patron: Patron, email: str) -> None:
    other = session.scalar(select(Patron.id).where(Patron.email_hash == email_hash(cipher, email), Patron.id != patron.id).limit(1))
    if other is not None:
        raise EmailInUse()
