"""The ``local`` connector: patrons kept in elibrary's own database (``elibrary patrons add``)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from werkzeug.security import check_password_hash

from elibrary.ils.base import InvalidCredentials, PatronAccount
from elibrary.patrons.models import Patron
from elibrary.security.crypto import normalize_card_number

# Compared against when the card is unknown, so both failures cost the same time.
_DUMMY_HASH = "scrypt:32768:8:1$0000000000000000$" + "0" * 128


class LocalILS:
    """Checks card number and PIN against the ``patrons`` table."""

    def __init__(self, runtime) -> None:
        self._runtime = runtime

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "LocalILS":
        """Needs the runtime (database and cipher) passed as ``settings["runtime"]``."""
        return cls(settings["runtime"])

    def authenticate(self, card_number: str, pin: str) -> PatronAccount:
        """Accept a known card with the right PIN; otherwise ``InvalidCredentials`` without saying which."""
        card = normalize_card_number(card_number)
        with self._runtime.db.scope(write=False) as session:
            patron = session.scalar(select(Patron).where(Patron.card_hash == self._runtime.cipher.lookup_hash(card)))
            stored = patron.pin_hash if patron is not None and patron.pin_hash else _DUMMY_HASH
            if not check_password_hash(stored, pin) or patron is None:
                raise InvalidCredentials()
            return PatronAccount(
                card_number=card,
                category=patron.category,
                expires_on=patron.expires_on,
                blocked=patron.blocked,
                block_reasons=(patron.block_reason,) if patron.block_reason else (),
            )

    def status(self) -> dict:
        """The local connector is as healthy as the database."""
        return {"ok": True, "connector": "local"}
