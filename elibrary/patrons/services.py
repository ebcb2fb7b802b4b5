"""Patron accounts: local creation and sign-in through the ILS connector."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from elibrary.db import utcnow
from elibrary.errors import Conflict, InvalidInput, ServiceUnavailable
from elibrary.ils.base import ILSConnector, ILSUnavailable, InvalidCredentials, PatronAccount
from elibrary.patrons.contact import card_number_of, name_of, notification_address, set_email  # noqa: F401  (API)
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
    if _is_sqlite_reader(session):
        patron = _record_in_own_transaction(session, cipher, account)
    else:
        patron = _record_sign_in(session, cipher, account)
    if throttle:
        throttle.record_success(keys, caller=session)
    return patron


# A sign-in within this many seconds of the last one does not write the time again (reading apps send
# credentials with every request).
LOGIN_TIME_GRANULARITY = timedelta(seconds=60)


def _record_sign_in(session: Session, cipher: DataCipher, account: PatronAccount) -> Patron:
    """Find or create the patron of ``account``, refresh what the ILS says and the sign-in time; flush."""
    patron = find_by_card(session, cipher, account.card_number)
    if patron is None:
        try:
            with session.begin_nested():  # another worker may create the same card at the same moment
                patron = _new_patron_from_ils(session, cipher, account)
        except IntegrityError:
            patron = find_by_card(session, cipher, account.card_number)
            if patron is None:
                raise
        else:
            announce_registration(session, patron, "full")  # a new registration, for the statistics
    _refresh_from_account(patron, cipher, account)
    now = utcnow()
    if patron.last_login_at is None or now - patron.last_login_at >= LOGIN_TIME_GRANULARITY:
        patron.last_login_at = now
    session.flush()
    return patron


def _is_sqlite_reader(session: Session) -> bool:
    """A SQLite session whose transaction began DEFERRED (a GET request): it may not write safely."""
    bind = session.get_bind()
    return bind.dialect.name == "sqlite" and bind.get_execution_options().get("sqlite_begin") != "IMMEDIATE"


def _record_in_own_transaction(session: Session, cipher: DataCipher, account: PatronAccount) -> Patron:
    """``_record_sign_in`` for a request that only reads, on SQLite.

    Its deferred transaction cannot become a writer once another worker has committed since it began
    reading (SQLite answers "database is locked" at once, whatever the busy timeout), so the writes go
    in a transaction of their own that waits for the write lock. When nothing changed there is no write
    at all. The request gets the committed row without a query: its own snapshot may predate it.
    """
    existing = find_by_card(session, cipher, account.card_number)
    if existing is not None and not _account_changes(existing, cipher, account) and not _login_time_due(existing):
        return existing
    engine = session.get_bind()
    if isinstance(engine, Connection):
        engine = engine.engine
    with Session(bind=engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False, info=dict(session.info)) as own:
        with own.begin():
            patron = _record_sign_in(own, cipher, account)
    return session.merge(patron, load=False)


def _login_time_due(patron: Patron) -> bool:
    return patron.last_login_at is None or utcnow() - patron.last_login_at >= LOGIN_TIME_GRANULARITY


def sign_in_for_request(session: Session, runtime, card_number: str, pin: str, address: str | None) -> Patron:
    """``sign_in`` with the runtime's ILS, cipher and brute-force throttle (web forms, OPDS Basic auth).

    Cards issued by online registration are checked by the local account store, whatever ILS is configured.
    """
    ils = runtime.accounts.in_front_of(runtime.ils)
    return sign_in(session, ils, runtime.cipher, card_number, pin, address=address, throttle=runtime.throttle)


# Patrons whose PIN elibrary keeps although the library has an ILS: online registrations and school
# accounts (roster login ids, never sent to the ILS).
OWN_SOURCES = ("provisional", "registered", "school")


def _new_patron_from_ils(session: Session, cipher: DataCipher, account: PatronAccount) -> Patron:
    # "ils": category, name and e-mail are refreshed from the ILS at every sign-in.
    patron = Patron(card_hash=cipher.lookup_hash(account.card_number), card_enc=cipher.encrypt(account.card_number, "patron.card"), source="ils")
    session.add(patron)
    return patron


def _account_changes(patron: Patron, cipher: DataCipher, account: PatronAccount) -> dict:
    """What the ILS says that the row does not hold yet (the name and e-mail compared decrypted)."""
    wanted: dict = {"expires_on": account.expires_on, "blocked": account.blocked, "block_reason": "; ".join(account.block_reasons)[:200]}
    if patron.source not in ("local",) + OWN_SOURCES:
        wanted["category"] = account.category
        if account.name and (patron.name_enc is None or cipher.decrypt(patron.name_enc, "patron.name") != account.name):
            wanted["name"] = account.name
        email = (account.extra.get("email") or "").strip()
        if email and (patron.email_hash != cipher.lookup_hash("email:" + email.lower())):
            wanted["email"] = email
        birth = str(account.extra.get("birth_date") or "")  # an ILS field mapping (``response.birth_date``): age statistics only
        if birth and (patron.birth_date_enc is None or cipher.decrypt(patron.birth_date_enc, "patron.birth_date") != birth):
            wanted["birth_date"] = birth
    return {key: value for key, value in wanted.items() if key in ("name", "email", "birth_date") or getattr(patron, key) != value}


def _refresh_from_account(patron: Patron, cipher: DataCipher, account: PatronAccount) -> None:
    # Only what differs is written, so a sign-in that changes nothing leaves the row alone.
    for key, value in _account_changes(patron, cipher, account).items():
        if key == "name":
            patron.name_enc = cipher.encrypt(value, "patron.name")
        elif key == "email":
            set_email(patron, cipher, value)
        elif key == "birth_date":
            patron.birth_date_enc = cipher.encrypt(value, "patron.birth_date")
        else:
            setattr(patron, key, value)
