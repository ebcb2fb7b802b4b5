"""The patrons' own account store (cards whose PIN elibrary keeps), an ILS connector like the others.

With ``ELIBRARY_ILS = "local"`` it is the connector itself and answers for every card (``elibrary
patrons add``, the demo, online registrations). With a real ILS it stands in front of that connector
(``in_front_of``) and answers only for the cards issued by online registration (仮登録・本登録), which the
ILS does not know; every other card goes to the ILS. The wiring room (``elibrary.wiring``) builds it with
the runtime's database and cipher.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from werkzeug.security import check_password_hash

from elibrary.db import Database
from elibrary.ils.base import ILSConnector, InvalidCredentials, PatronAccount
from elibrary.patrons.models import Patron
from elibrary.patrons.services import OWN_SOURCES, find_by_card
from elibrary.security.crypto import DataCipher, normalize_card_number

TOKYO = ZoneInfo("Asia/Tokyo")
# Compared against when the card is unknown, so both failures cost the same time.
_DUMMY_HASH = "scrypt:32768:8:1$0000000000000000$" + "0" * 128


def school_account_ended(patron: Patron) -> bool:
    """A school account stops signing in after its last day (a graduate's cut-off, a pupil who left)."""
    return patron.source == "school" and patron.expires_on is not None and patron.expires_on < datetime.now(TOKYO).date()


class LocalAccounts:
    """Checks card number and PIN against the ``patrons`` table; ``then`` answers for cards not kept here."""

    def __init__(self, db: Database, cipher: DataCipher, *, sources: tuple[str, ...] | None = None, then: ILSConnector | None = None) -> None:
        self._db, self._cipher = db, cipher
        self._sources = sources  # None: every patron with a PIN
        self._then = then

    def in_front_of(self, ils: ILSConnector) -> ILSConnector:
        """The connector sign-in uses: online registrations checked here first, every other card by ``ils``."""
        if ils is self:
            return self
        return LocalAccounts(self._db, self._cipher, sources=OWN_SOURCES, then=ils)

    def authenticate(self, card_number: str, pin: str) -> PatronAccount:
        """Accept a known card with the right PIN; otherwise ``InvalidCredentials`` without saying which."""
        card = normalize_card_number(card_number)
        with self._db.scope(write=False) as session:
            patron: Patron | None = find_by_card(session, self._cipher, card)
            if patron is None and card != card.lower():  # school login ids are lower case; tablets capitalise the first letter
                patron = find_by_card(session, self._cipher, card.lower())
                if patron is not None and patron.source == "school":
                    card = card.lower()
                else:
                    patron = None
            if patron is not None and self._sources is not None and patron.source not in self._sources:
                patron = None
            if patron is not None or self._then is None:  # ours to answer (an unknown card, with no ILS behind: refused)
                stored = patron.pin_hash if patron is not None and patron.pin_hash else _DUMMY_HASH
                if not check_password_hash(stored, pin) or patron is None or school_account_ended(patron):
                    raise InvalidCredentials()
                return PatronAccount(
                    card_number=card,
                    category=patron.category,
                    expires_on=patron.expires_on,
                    blocked=patron.blocked,
                    block_reasons=(patron.block_reason,) if patron.block_reason else (),
                )
        # Not one of ours: the ILS decides, outside this transaction.
        return self._then.authenticate(card_number, pin)  # type: ignore[union-attr]

    def status(self) -> dict:
        """The local store is as healthy as the database; in front of an ILS, the ILS's health."""
        if self._then is not None:
            return self._then.status()
        return {"ok": True, "connector": "local"}
