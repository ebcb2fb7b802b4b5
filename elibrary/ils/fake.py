"""A fake ILS for tests: accounts in a dict, and a switch to simulate the ILS being down."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from elibrary.ils.base import ILSUnavailable, InvalidCredentials, PaperItems, PatronAccount
from elibrary.security.crypto import normalize_card_number


class FakeILS:
    """``accounts`` maps card number to (pin, PatronAccount)."""

    def __init__(self) -> None:
        self.accounts: dict[str, tuple[str, PatronAccount]] = {}
        self.paper: dict[str, PaperItems] = {}  # card -> paper holds ready and overdues
        self.down = False

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "FakeILS":
        """Settings are ignored."""
        return cls()

    def add(self, card_number: str, pin: str, **fields: Any) -> PatronAccount:
        """Register an account the fake will accept."""
        account = PatronAccount(card_number=card_number, **fields)
        self.accounts[card_number] = (pin, account)
        return account

    def authenticate(self, card_number: str, pin: str) -> PatronAccount:
        """Same contract as a real connector."""
        if self.down:
            raise ILSUnavailable("fake ILS is down")
        entry = self.accounts.get(normalize_card_number(card_number))
        if entry is None or entry[0] != pin:
            raise InvalidCredentials()
        return entry[1]

    def paper_items(self, card_number: str) -> PaperItems:
        """The paper items set in ``paper`` (the optional capability)."""
        if self.down:
            raise ILSUnavailable("fake ILS is down")
        return self.paper.get(normalize_card_number(card_number), PaperItems())

    def status(self) -> dict:
        """Down when told to be."""
        return {"ok": not self.down, "connector": "fake"}
