"""Patron accounts: local creation and sign-in through the ILS connector."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from elibrary.db import utcnow
from elibrary.errors import Conflict, InvalidInput, ServiceUnavailable
from elibrary.ils.base import ILSConnector, ILSUnavailable, InvalidCredentials, PatronAccount
from elibrary.patrons.contact import card_number_of, name_of, notification_address  # noqa: F401  (API)
from elibrary.patrons.facts import announce_registration
from elibrary.patrons.models import Patron
from elibrary.security.crypto import DataCipher, normalize_card_number
from elibrary.security.throttle import Throttle, TooManyAttempts  # noqa: F401 - TooManyAttempts re-exported

CATEGORIES = ("citizen", "provisional", "student", "teacher")
MIN_PIN_LENGTH = 4


class SignInFailed(InvalidInput):
    """Card number or PIN is wrong; the message never says which."""

    code = "sign-in-failed"
    status = 401
    message_ja = "利用者番号またはパスワードが正しくありません。"
    message_en = "The card number or password is incorrect."


class ILSDown(ServiceUnavailable):
    """The library system is not answering."""

    code = "ils-unavailable"
    message_ja = "図書館システムに接続できません。しばらくしてからお試しください。"
    message_en = "Cannot reach the library system. Please try again later."


def find_by_card(session: Session, cipher: DataCipher, card_number: str) -> Patron | None:
    """The patron with this card number (typed in any width, with spaces or hyphens)."""
    card = normalize_card_number(card_number)
    return session.scalar(select(Patron).where(Patron.card_hash == cipher.lookup_hash(card)))


def add_local_patron(
    session: Session, cipher: DataCipher, card_number: str, pin: str, *, category: str = "citizen", name: str | None = None
) -> Patron:
    """Create a patron authenticated by elibrary itself (libraries without an ILS link)."""
    card = normalize_card_number(card_number)
    if not card.isalnum():
        raise InvalidInput("利用者番号は英数字で入力してください。", "The card number must be letters and digits.", field="card")
    if len(pin) < MIN_PIN_LENGTH:
        raise InvalidInput(
            f"パスワードは{MIN_PIN_LENGTH}文字以上にしてください。", f"The PIN must be at least {MIN_PIN_LENGTH} characters.", field="pin"
        )
    if find_by_card(session, cipher, card) is not None:
        raise Conflict("この利用者番号はすでに登録されています。", "This card number is already registered.")
    patron = Patron(
        card_hash=cipher.lookup_hash(card),
        card_enc=cipher.encrypt(card, "patron.card"),
        name_enc=cipher.encrypt(name, "patron.name"),
        pin_hash=generate_password_hash(pin),
        category=category,
        source="local",
    )
    session.add(patron)
    session.flush()
    announce_registration(session, patron, "full")
    return patron


def change_local_pin(session: Session, patron: Patron, new_pin: str, keep: str | None = None) -> None:
    """Set the PIN of a patron elibrary authenticates itself; every other sign-in of the card ends."""
    from elibrary.security import sessions

    if len(new_pin) < MIN_PIN_LENGTH:
        raise InvalidInput(
            f"パスワードは{MIN_PIN_LENGTH}文字以上にしてください。", f"The PIN must be at least {MIN_PIN_LENGTH} characters.", field="pin"
        )
    if patron.pin_hash is None:
        raise InvalidInput("この利用者のパスワードは図書館システムで管理されています。", "This card's PIN is kept by the library system (ILS).")
    patron.pin_hash = generate_password_hash(new_pin)
    sessions.end_all(session, sessions.subject_of(patron), keep=keep)
    session.flush()


def sign_in(
    session: Session,
    ils: ILSConnector,
    cipher: DataCipher,
    card_number: str,
    pin: str,
    *,
    address: str | None = None,
    throttle: Throttle | None = None,
) -> Patron:
    """Authenticate through the ILS and return the (created or refreshed) patron row.

    What the ILS says decides: a blocked or expired card still signs in, and lending tells them why.
    With a ``throttle`` (``runtime.throttle``), repeated failures for
    the card or from ``address`` slow down and then lock sign-in (``TooManyAttempts``, 429); the
    failure count is written in its own transaction, so callers may roll back freely; a 429 carries
    ``Retry-After``. The ILS is
    asked every time: when it is down the answer is ``ILSDown`` (503), never a stale sign-in.
    """
    card = normalize_card_number(card_number)
    keys = throttle.keys(cipher, "card", card, address) if throttle else None
    if throttle:
        throttle.check(keys)
    try:
        if not card or not pin:
            raise InvalidCredentials()
        account = ils.authenticate(card, pin)
    except InvalidCredentials:
        if throttle:
            throttle.record_failure(keys, caller=session)
        raise SignInFailed() from None
    except ILSUnavailable:
        raise ILSDown() from None
    patron = find_by_card(session, cipher, account.card_number)
    new = patron is None
    if new:
        patron = _new_patron_from_ils(session, cipher, account)
    _refresh_from_account(patron, cipher, account)
    if new:
        session.flush()
        announce_registration(session, patron, "full")
    patron.last_login_at = utcnow()
    if throttle:
        throttle.record_success(keys, caller=session)
    session.flush()
    return patron


def sign_in_for_request(session: Session, runtime, card_number: str, pin: str, address: str | None) -> Patron:
    """``sign_in`` with the runtime's ILS, cipher and brute-force throttle (web forms, OPDS Basic auth).

    Cards issued by online registration are checked by the local account store, whatever ILS is configured.
    """
    ils = runtime.accounts.in_front_of(runtime.ils)
    return sign_in(session, ils, runtime.cipher, card_number, pin, address=address, throttle=runtime.throttle)


# Patrons whose PIN elibrary keeps although the library has an ILS: online registrations.
OWN_SOURCES = ("provisional", "registered")


def set_email(patron: Patron, cipher: DataCipher, email: str | None) -> None:
    """Store the patron's notification e-mail address (encrypted, with its lookup hash)."""
    email = (email or "").strip() or None
    patron.email_enc = cipher.encrypt(email, "patron.email")
    patron.email_hash = cipher.lookup_hash("email:" + email.lower()) if email else None


def _new_patron_from_ils(session: Session, cipher: DataCipher, account: PatronAccount) -> Patron:
    # "ils": category, name and e-mail are refreshed from the ILS at every sign-in.
    patron = Patron(card_hash=cipher.lookup_hash(account.card_number), card_enc=cipher.encrypt(account.card_number, "patron.card"), source="ils")
    session.add(patron)
    return patron


def _refresh_from_account(patron: Patron, cipher: DataCipher, account: PatronAccount) -> None:
    if patron.source not in ("local",) + OWN_SOURCES:
        patron.category = account.category
        if account.name:
            patron.name_enc = cipher.encrypt(account.name, "patron.name")
        if account.extra.get("email"):
            set_email(patron, cipher, account.extra["email"])
        if account.extra.get("birth_date"):  # an ILS field mapping (``response.birth_date``): for age statistics only
            patron.birth_date_enc = cipher.encrypt(str(account.extra["birth_date"]), "patron.birth_date")
    patron.expires_on = account.expires_on
    patron.blocked = account.blocked
    patron.block_reason = "; ".join(account.block_reasons)[:200]
