"""School accounts: login ids, initial passwords, and the member with its patron.

Login ids and passwords use a readable alphabet (no 0/O, 1/l/I) so a child can copy them from a card.
A login id carries no school, grade or class code: it never changes with a move up or a transfer.
The login id is the patron's card number for sign-in (``patrons.card_hash``), checked by elibrary
itself (``patrons.services.OWN_SOURCES``), never sent to the ILS.
"""
from __future__ import annotations

import os
import re
import secrets
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from elibrary.patrons.models import Patron
from elibrary.schools.models import Member
from elibrary.security.crypto import DataCipher

LOGIN_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # lower case: tablets capitalise the first letter, sign-in folds it
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
LOGIN_ID_LENGTH = 8
PASSWORD_LENGTH = 8
LOGIN_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{3,40}$")
# Initial passwords are random (8 of 31 symbols, ~40 bits), not chosen by people: a lighter scrypt (2 MB, ~4 ms)
# keeps the import of 3,000 accounts within a minute on a busy 2-core server (docs/schools.md).
PASSWORD_METHOD = "scrypt:2048:8:1"
CATEGORY_OF_ROLE = {"pupil": "student", "teacher": "teacher"}


def new_login_id(session: Session, taken: set[str] | None = None, *, check_database: bool = True) -> str:
    """A random login id that no member has (and not in ``taken``, the ids of the same import).

    ``check_database=False`` when ``taken`` already holds every login id in the database.
    """
    while True:
        candidate = "".join(secrets.choice(LOGIN_ALPHABET) for _ in range(LOGIN_ID_LENGTH))
        if taken is not None and candidate in taken:
            continue
        if not check_database or session.scalar(select(Member.id).where(Member.login_id == candidate)) is None:
            if taken is not None:
                taken.add(candidate)
            return candidate


def new_password() -> str:
    """A readable random initial password (shown once, stored as a hash only)."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def normalize_login_id(raw: str) -> str:
    """Login ids as written in a roster: NFKC-folded by the card-number rule, then lower case."""
    from elibrary.security.crypto import normalize_card_number

    return normalize_card_number(raw or "").lower()


def create_member(
    session: Session, cipher: DataCipher, *, role: str, login_id: str, password: str, sourced_id: str | None = None,
    name: str | None = None, kana: str | None = None, school_id: int | None = None,
) -> Member:
    """Create a member and its patron (``source="school"``); the password is stored as a hash only."""
    patron = new_patron(cipher, role=role, login_id=login_id, password=password, name=name)
    session.add(patron)
    session.flush()
    member = Member(patron_id=patron.id, role=role, login_id=login_id, sourced_id=sourced_id,
                    kana_enc=cipher.encrypt(kana, "member.kana"), school_id=school_id, status="active")
    session.add(member)
    return member


def new_patron(cipher: DataCipher, *, role: str, login_id: str, password: str, name: str | None = None, pin_hash: str | None = None) -> Patron:
    """The patron row of a school account (not yet added): the login id as its card number, the password hashed
    (``pin_hash`` when the caller hashed it already)."""
    return Patron(
        card_hash=cipher.lookup_hash(login_id),
        card_enc=cipher.encrypt(login_id, "patron.card"),
        name_enc=cipher.encrypt(name, "patron.name"),
        pin_hash=pin_hash or hash_password(password),
        category=CATEGORY_OF_ROLE[role],
        source="school",
    )


def hash_password(password: str) -> str:
    """The stored form of a school account's password."""
    return generate_password_hash(password, method=PASSWORD_METHOD)


def fresh_passwords(count: int) -> list[tuple[str, str]]:
    """``count`` new initial passwords, each with its hash. An import makes them before its writing transaction:
    3,000 hashes take seconds, during which every sign-in and loan would wait for SQLite's write lock."""
    passwords = [new_password() for _ in range(count)]
    return list(zip(passwords, hash_passwords(passwords), strict=True))


def hash_passwords(passwords: list[str]) -> list[str]:
    """Hash many passwords on every core (scrypt releases the GIL): 3,000 new accounts in one import."""
    if len(passwords) < 50:
        return [hash_password(p) for p in passwords]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return list(pool.map(hash_password, passwords))


def reset_password(session: Session, member: Member) -> str:
    """Give a member a new random password (returned once) and end their other sign-ins."""
    from elibrary.security import sessions

    patron = session.get(Patron, member.patron_id)
    password = new_password()
    patron.pin_hash = hash_password(password)
    sessions.end_all(session, sessions.subject_of(patron))
    session.flush()
    return password


def member_of_patron(session: Session, patron: Patron) -> Member | None:
    """The school member whose account this patron is (None for other patrons)."""
    if patron.source != "school":
        return None
    return session.scalar(select(Member).where(Member.patron_id == patron.id))
