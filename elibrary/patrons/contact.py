"""A patron's own details in clear: the card number, the name and where to notify them.

A shared piece of the patrons wing that other wings may use (the card page, LINE and lending notices, school rosters)
without importing ``patrons.services`` (sign-in, registration); ``services`` re-exports these.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from elibrary.patrons.models import Patron
from elibrary.security.crypto import DataCipher


def notification_address(session: Session, cipher: DataCipher, patron: Patron) -> str | None:
    """Where to e-mail this patron (from registration or the ILS), or None when unknown."""
    return cipher.decrypt(patron.email_enc, "patron.email")


def card_number_of(patron: Patron, cipher: DataCipher) -> str:
    """The patron's card number in clear (for their own card page)."""
    return cipher.decrypt(patron.card_enc, "patron.card") or ""


def name_of(patron: Patron, cipher: DataCipher) -> str | None:
    """The patron's name in clear, if known."""
    return cipher.decrypt(patron.name_enc, "patron.name")


def set_email(patron: Patron, cipher: DataCipher, email: str | None) -> None:
    """Store the patron's notification e-mail address (encrypted, with its lookup hash)."""
    email = (email or "").strip() or None
    patron.email_enc = cipher.encrypt(email, "patron.email")
    patron.email_hash = cipher.lookup_hash("email:" + email.lower()) if email else None
