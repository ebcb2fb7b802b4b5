"""Provisional registration (利用者仮登録): online form, e-mail confirmation, a provisional card at once,
then staff confirm identity at the counter (upgrade) or reject; unconfirmed ones are erased.

Personal data is encrypted field by field; duplicates are found through keyed hashes of the e-mail
address and of name + birth date + address. Erasure deletes the rows (and wipes the provisional
patron's name and e-mail), it does not just flag them.
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from elibrary.db import utcnow
from elibrary.errors import Conflict, DomainError, InvalidInput, NotFound
from elibrary.notify.base import Message
from elibrary.notify.outbox import enqueue
from elibrary.patrons.facts import announce_registration
from elibrary.patrons.models import Patron, Registration
from elibrary.patrons.services import CATEGORIES, MIN_PIN_LENGTH, find_by_card, set_email
from elibrary.patrons.validation import DEFAULT_REQUIRED, FIELDS, FieldError, validate_registration
from elibrary.security.crypto import DataCipher

PERSONAL_FIELDS = FIELDS  # name, kana, birth_date, postal_code, address, phone, email


@dataclass(frozen=True)
class RegistrationPolicy:
    """Library settings for online registration."""

    enabled: bool = True
    required: tuple[str, ...] = DEFAULT_REQUIRED
    confirm_hours: int = 48  # the e-mailed link works this long
    expire_days: int = 14  # unconfirmed at the counter after this: erased
    card_prefix: str = "P"

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "RegistrationPolicy":
        """``ELIBRARY_REGISTRATION_*`` settings."""
        required = settings.get("ELIBRARY_REGISTRATION_REQUIRED") or DEFAULT_REQUIRED
        if isinstance(required, str):
            required = tuple(f.strip() for f in required.split(",") if f.strip())
        return cls(
            enabled=bool(settings.get("ELIBRARY_REGISTRATION_ENABLED", True)),
            required=tuple(required),
            confirm_hours=int(settings.get("ELIBRARY_REGISTRATION_CONFIRM_HOURS") or 48),
            expire_days=int(settings.get("ELIBRARY_REGISTRATION_EXPIRE_DAYS") or 14),
            card_prefix=str(settings.get("ELIBRARY_REGISTRATION_CARD_PREFIX") or "P"),
        )


class RegistrationInvalid(InvalidInput):
    """The form has problems; ``errors`` lists them by field."""

    code = "registration-invalid"
    message_ja = "入力内容を確認してください。"
    message_en = "Please check the form."

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__()
        self.errors = errors


class DuplicateRegistration(Conflict):
    """The same person (or e-mail address) is already registered."""

    code = "registration-duplicate"
    message_ja = (
        "同じ方の登録がすでにあります（氏名・生年月日・住所、またはメールアドレスが同じです）。"
        "確認メールが届いていない場合や心当たりがない場合は、図書館へお問い合わせください。"
    )
    message_en = (
        "A registration for the same person already exists (same name, date of birth and address, or same e-mail "
        "address). If you did not receive the confirmation e-mail or do not recognise it, please contact the library."
    )


class LinkUnknown(NotFound):
    """No registration has this confirmation link."""

    code = "registration-link-unknown"
    message_ja = "この確認リンクは無効です。メールに記載されたリンクをもう一度お確かめください。"
    message_en = "This confirmation link is not valid. Please check the link in the e-mail."


class LinkUsed(Conflict):
    """The link was already used: the registration is confirmed."""

    code = "registration-link-used"
    message_ja = "この確認リンクはすでに使用されています。登録は完了していますので、仮利用者番号でログインしてください。"
    message_en = "This confirmation link has already been used. Your registration is complete: sign in with your provisional card number."


class LinkExpired(DomainError):
    """The link's time ran out."""

    code = "registration-link-expired"
    status = 410
    message_ja = "この確認リンクは有効期限が切れています。お手数ですが、もう一度登録してください。"
    message_en = "This confirmation link has expired. Please register again."


class RegistrationsClosed(DomainError):
    """The library does not take online registrations."""

    code = "registration-closed"
    status = 404
    message_ja = "この図書館ではオンラインでの利用者登録を受け付けていません。"
    message_en = "This library does not accept online registration."


def token_hash(token: str) -> str:
    """Stored form of a confirmation token (the token itself exists only in the e-mail)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _identity(values: Mapping[str, str | None]) -> str:
    parts = [(values.get(f) or "").replace(" ", "").replace("-", "") for f in ("name", "birth_date", "postal_code", "address")]
    return "registration-identity:" + "|".join(parts)


def start(session: Session, cipher: DataCipher, form: Mapping[str, str], policy: RegistrationPolicy) -> tuple[Registration, str]:
    """Validate and store a registration; returns it and the token to e-mail (after ``send_confirmation``)."""
    if not policy.enabled:
        raise RegistrationsClosed()
    values, errors = validate_registration(form, policy.required)
    if errors:
        raise RegistrationInvalid(errors)
    purge_expired(session)  # an expired unconfirmed registration must not block a new one
    email_hash = cipher.lookup_hash("email:" + values["email"].lower())
    identity_hash = cipher.lookup_hash(_identity(values)) if values.get("birth_date") and values.get("address") else None
    clash = or_(Registration.email_hash == email_hash, Registration.identity_hash == identity_hash) if identity_hash else Registration.email_hash == email_hash
    if session.scalar(select(Registration.id).where(clash).limit(1)) or session.scalar(select(Patron.id).where(Patron.email_hash == email_hash).limit(1)):
        raise DuplicateRegistration()
    token = secrets.token_urlsafe(32)
    now = utcnow()
    registration = Registration(
        status="unconfirmed",
        email_hash=email_hash,
        identity_hash=identity_hash,
        token_hash=token_hash(token),
        token_expires_at=now + timedelta(hours=policy.confirm_hours),
        expires_at=now + timedelta(hours=policy.confirm_hours),
        created_at=now,
        **{f"{field}_enc": cipher.encrypt(values.get(field), f"registration.{field}") for field in PERSONAL_FIELDS},
    )
    session.add(registration)
    session.flush()
    return registration, token


def send_confirmation(session: Session, cipher: DataCipher, registration: Registration, link: str, library_name: str, hours: int) -> None:
    """Queue the confirmation e-mail (sent after commit)."""
    body = (
        f"{library_name}の利用者仮登録を受け付けました。\n"
        f"次のリンクを{hours}時間以内に開いて、登録を完了してください。\n\n{link}\n\n"
        "お心当たりのない場合は、このメールを破棄してください。\n\n"
        f"Your provisional registration with {library_name} was received. Open the link above within {hours} hours "
        "to complete it. If you did not register, please ignore this e-mail.\n"
    )
    address = decrypt_fields(registration, cipher, ("email",))["email"]
    subject = f"【{library_name}】利用者仮登録の確認 / Please confirm your registration"
    enqueue(session, cipher, Message(channel="email", address=address, subject=subject, body=body, kind="confirm-email"))


def find_for_token(session: Session, token: str, now: datetime | None = None, *, lock: bool = False) -> Registration:
    """The registration a link belongs to, if it can still be confirmed (else a clear error)."""
    query = select(Registration).where(Registration.token_hash == token_hash(token))
    if lock:  # two clicks at once must not make two patrons (PostgreSQL row lock; SQLite's write lock)
        query = query.with_for_update()
    registration = session.scalar(query)
    if registration is None:
        raise LinkUnknown()
    if registration.status != "unconfirmed":
        raise LinkUsed()
    if registration.token_expires_at <= (now or utcnow()):
        raise LinkExpired()
    return registration


def confirm(session: Session, cipher: DataCipher, token: str, pin: str, policy: RegistrationPolicy) -> tuple[Patron, str]:
    """Confirm the e-mail: create the provisional patron with a new card number and the chosen PIN."""
    registration = find_for_token(session, token, lock=True)
    if len(pin) < MIN_PIN_LENGTH or len(pin) > 64:
        raise InvalidInput(f"パスワードは{MIN_PIN_LENGTH}文字以上にしてください。", f"Use at least {MIN_PIN_LENGTH} characters.", field="pin")
    card = issue_card_number(session, cipher, policy.card_prefix)
    now = utcnow()
    personal = decrypt_fields(registration, cipher, ("name", "email", "birth_date"))
    patron = Patron(
        card_hash=cipher.lookup_hash(card),
        card_enc=cipher.encrypt(card, "patron.card"),
        name_enc=cipher.encrypt(personal["name"], "patron.name"),
        birth_date_enc=cipher.encrypt(personal["birth_date"], "patron.birth_date"),  # kept after approval erases the registration
        pin_hash=generate_password_hash(pin),
        category="provisional",
        source="provisional",
        expires_on=(now + timedelta(days=policy.expire_days)).date(),
    )
    session.add(patron)
    set_email(patron, cipher, personal["email"])
    session.flush()
    registration.status = "provisional"
    registration.patron_id = patron.id
    registration.confirmed_at = now
    registration.expires_at = now + timedelta(days=policy.expire_days)
    session.flush()
    announce_registration(session, patron, "provisional")
    return patron, card


def issue_card_number(session: Session, cipher: DataCipher, prefix: str = "P") -> str:
    """A new provisional card number: the prefix and 9 random digits, unused so far."""
    for _ in range(20):
        card = prefix + "".join(secrets.choice("0123456789") for _ in range(9))
        if find_by_card(session, cipher, card) is None:
            return card
    raise Conflict("仮利用者番号を発行できませんでした。", "Could not issue a card number.")


def decrypt_fields(registration: Registration, cipher: DataCipher, fields=PERSONAL_FIELDS) -> dict[str, str | None]:
    """The registration's personal data in clear (staff views must log the access)."""
    return {field: cipher.decrypt(getattr(registration, f"{field}_enc"), f"registration.{field}") for field in fields}


def queue(session: Session) -> list[Registration]:
    """Registrations confirmed by e-mail, waiting for staff, oldest first."""
    return list(session.scalars(select(Registration).where(Registration.status == "provisional").order_by(Registration.confirmed_at, Registration.id)))


def _pending(session: Session, registration_id: int) -> Registration:
    registration = session.get(Registration, registration_id)
    if registration is None or registration.status != "provisional":
        raise NotFound("この仮登録は見つかりません（処理済みか期限切れです）。", "This registration is not waiting (already handled or expired).")
    return registration


def approve(session: Session, registration_id: int, category: str, *, cipher: DataCipher | None = None, ils=None) -> Patron:
    """Identity confirmed at the counter: the patron becomes a full member; the registration is erased.

    With ``ils`` (a connector that ``can_register``), the record is sent to the ILS first; the patron then
    signs in with the card number the ILS issued (and the PIN set there), keeping their loans.
    """
    if category not in CATEGORIES or category == "provisional":
        raise InvalidInput("利用者区分を選んでください。", "Choose a patron category.", field="category")
    registration = _pending(session, registration_id)
    patron = session.get(Patron, registration.patron_id) if registration.patron_id else None
    if patron is None:
        raise NotFound()
    if ils is not None:
        from elibrary.ils.base import ILSUnavailable
        from elibrary.patrons.services import ILSDown

        try:
            card = ils.register_patron({**decrypt_fields(registration, cipher), "category": category})
        except ILSUnavailable:
            raise ILSDown() from None
        patron.card_hash = cipher.lookup_hash(card)
        patron.card_enc = cipher.encrypt(card, "patron.card")
        patron.pin_hash = None
        patron.source = "ils"
    else:
        patron.source = "registered"
    patron.category = category
    patron.expires_on = None
    session.delete(registration)
    session.flush()
    announce_registration(session, patron, "confirmed")
    return patron


def reject(session: Session, registration_id: int) -> int | None:
    """Refuse a registration: erase it and close the provisional card. Returns the patron id."""
    registration = _pending(session, registration_id)
    patron_id = registration.patron_id
    if patron_id is not None:
        _close_provisional_patron(session.get(Patron, patron_id), "仮登録が承認されませんでした")
    session.delete(registration)
    session.flush()
    return patron_id


def _close_provisional_patron(patron: Patron | None, reason: str) -> None:
    if patron is None or patron.source != "provisional":
        return
    patron.name_enc = None
    patron.birth_date_enc = None
    patron.email_enc = None
    patron.email_hash = None
    patron.pin_hash = None  # can no longer sign in
    patron.blocked = True
    patron.block_reason = reason


def purge_expired(session: Session, now: datetime | None = None) -> int:
    """Erase registrations past their time (unconfirmed links, or not confirmed at the counter)."""
    now = now or utcnow()
    expired = list(session.scalars(select(Registration).where(Registration.expires_at <= now)))
    for registration in expired:
        if registration.patron_id is not None:
            _close_provisional_patron(session.get(Patron, registration.patron_id), "仮登録の有効期限が切れました")
    if expired:
        session.execute(delete(Registration).where(Registration.id.in_([r.id for r in expired])))
        session.flush()
    return len(expired)
