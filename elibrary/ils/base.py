"""The ILS connector interface: ask the library system whether a card and PIN are good.

Connectors (``local``, later ``sip2`` and ``http``) answer with a ``PatronAccount`` describing what
the ILS says about the card; the patrons service decides what that means for signing in and borrowing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, runtime_checkable


class ILSError(Exception):
    """Base of connector errors."""


class ILSUnavailable(ILSError):
    """The ILS did not answer (down, timed out, garbled reply)."""


class InvalidCredentials(ILSError):
    """Unknown card or wrong PIN; deliberately not saying which."""


@dataclass(frozen=True)
class PatronAccount:
    """What the ILS says about an authenticated card."""

    card_number: str
    category: str = "citizen"
    name: str | None = None
    expires_on: date | None = None
    blocked: bool = False
    block_reasons: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)


@runtime_checkable
class ILSConnector(Protocol):
    """Authenticates patrons against the library system."""

    def authenticate(self, card_number: str, pin: str) -> PatronAccount:
        """Check card and PIN; raise ``InvalidCredentials`` or ``ILSUnavailable``."""

    def status(self) -> dict:
        """Health data: ``{"ok": bool, ...}``."""


@dataclass(frozen=True)
class PaperItems:
    """A patron's paper books as the ILS reports them: holds waiting at the counter, overdue loans (item ids)."""

    holds_ready: tuple[str, ...] = ()
    overdue: tuple[str, ...] = ()


@runtime_checkable
class PaperCirculation(Protocol):
    """An optional connector capability: read a patron's paper holds and overdues (for LINE notices)."""

    def paper_items(self, card_number: str) -> PaperItems:
        """Ask the ILS; raise ``ILSUnavailable`` when it does not answer."""
