"""The SIP2 connector: card number + PIN through 93 login, 63/64 (or 23/24) and 35 end session,
read into a ``PatronAccount`` (valid card and PIN, blocks with reasons, expiry, category, fines).

Decision rule (Evergreen's guide, Palace): refuse when ``BL`` is not ``Y``; refuse when ``CQ`` is ``N``;
refuse when ``CQ`` is missing unless the dialect says the ACS never sends it; otherwise accept and let
the status flags, expiry and fines decide whether the card may borrow.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from elibrary.ils.base import InvalidCredentials, PaperItems, PatronAccount
from elibrary.ils.sip2.client import Connection, SIP2Client, SIP2Error, parse_fields, sip_datetime
from elibrary.ils.sip2.dialect import PATRON_STATUS_FLAGS, Dialect, dialect_from_settings

log = logging.getLogger(__name__)

# Length of the fixed part of each reply, including the 2-character command id.
FIXED_LENGTH = {"64": 2 + 14 + 3 + 18 + 6 * 4, "24": 2 + 14 + 3 + 18, "36": 2 + 1 + 18, "98": 2 + 6 + 3 + 3 + 18 + 4}


@dataclass(frozen=True)
class PatronReply:
    """A 24 or 64 reply, split into its fixed status block and variable fields."""

    status_flags: str
    fields: dict[str, list[str]]

    def first(self, code: str) -> str | None:
        """The first value of a field, or None when absent."""
        values = self.fields.get(code)
        return values[0] if values else None


def parse_patron_reply(text: str, dialect: Dialect) -> PatronReply:
    """Split a 24/64 reply; raise ``SIP2Error`` when it is not one or is cut short."""
    command = text[:2]
    if command not in ("24", "64"):
        raise SIP2Error(f"unexpected SIP2 reply {command!r} to a patron request")
    fixed = FIXED_LENGTH[command]
    if len(text) < fixed:
        raise SIP2Error("SIP2 patron reply is truncated")
    return PatronReply(status_flags=text[2:16], fields=parse_fields(text[fixed:], dialect.field_separator))


def _sip_date(value: str | None) -> date | None:
    digits = (value or "").strip()[:8]
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def _amount(value: str | None) -> Decimal | None:
    try:
        return Decimal(value.strip()) if value and value.strip() else None
    except InvalidOperation:
        return None


def account_from_reply(card: str, reply: PatronReply, dialect: Dialect, categories: Mapping[str, str], today: date | None = None) -> PatronAccount:
    """Apply the decision rule and read blocks, expiry, category and fines."""
    if reply.first("BL") != "Y":
        raise InvalidCredentials()
    cq = reply.first("CQ")
    if cq == "N" or (cq is None and dialect.require_cq):
        raise InvalidCredentials()
    reasons = [PATRON_STATUS_FLAGS[i][1] for i in dialect.blocking_flags if i < len(reply.status_flags) and reply.status_flags[i] == "Y"]
    fee, limit = _amount(reply.first("BV")), _amount(reply.first("CC"))
    if dialect.block_on_fines and fee is not None and limit is not None and fee > limit:
        reasons.append(PATRON_STATUS_FLAGS[10][1])
    expires_on = next((d for d in (_sip_date(reply.first(code)) for code in dialect.expiry_fields) if d), None)
    today = today or date.today()
    if (expires_on and expires_on < today) or reply.first("PY") == "Y":
        reasons.append("利用カードの有効期限が切れています")
    raw_category = (reply.first(dialect.category_field) or "").strip()
    category = categories.get(raw_category, categories.get(raw_category.lower(), categories.get("*", "citizen")))
    extra: dict[str, Any] = {"status_flags": reply.status_flags}
    if fee is not None:
        extra["fee_amount"] = str(fee)
    if reply.first("BE"):
        extra["email"] = reply.first("BE").strip()
    if reply.fields.get("AF"):
        extra["screen_messages"] = tuple(m for m in reply.fields["AF"] if m)
    return PatronAccount(
        card_number=card,
        category=category,
        name=(reply.first("AE") or "").strip() or None,
        expires_on=expires_on,
        blocked=bool(reasons),
        block_reasons=tuple(dict.fromkeys(reasons)),
        extra=extra,
    )


class SIP2Connector:
    """``ELIBRARY_ILS = "sip2"``."""

    def __init__(self, client: SIP2Client, *, institution: str = "", terminal_password: str = "", categories: Mapping[str, str] | None = None) -> None:
        self.client = client
        self.dialect = client.dialect
        self.institution = institution
        self.terminal_password = terminal_password
        self.categories = dict(categories or {})

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "SIP2Connector":
        """Build from the ``ELIBRARY_SIP2_*`` settings."""
        from elibrary.config import ConfigError

        if not settings.get("ELIBRARY_SIP2_HOST"):
            raise ConfigError("ELIBRARY_ILS is sip2 but ELIBRARY_SIP2_HOST is not set")
        dialect = dialect_from_settings(
            settings.get("ELIBRARY_SIP2_DIALECT"), settings.get("ELIBRARY_SIP2_ENCODING"), settings.get("ELIBRARY_SIP2_SEPARATOR")
        )
        client = SIP2Client(
            settings["ELIBRARY_SIP2_HOST"],
            int(settings.get("ELIBRARY_SIP2_PORT") or 6001),
            dialect,
            user=settings.get("ELIBRARY_SIP2_USER") or "",
            password=settings.get("ELIBRARY_SIP2_PASSWORD") or "",
            location=settings.get("ELIBRARY_SIP2_LOCATION") or "",
            timeout=float(settings.get("ELIBRARY_SIP2_TIMEOUT") or 5),
            tls=bool(settings.get("ELIBRARY_SIP2_TLS")),
            tls_ca_file=settings.get("ELIBRARY_SIP2_TLS_CA") or None,
            pool_size=int(settings.get("ELIBRARY_SIP2_POOL_SIZE") or 4),
        )
        categories = settings.get("ELIBRARY_SIP2_CATEGORIES") or {}
        if isinstance(categories, str):  # from the environment, as JSON
            import json

            try:
                categories = json.loads(categories)
            except ValueError:
                raise ConfigError("ELIBRARY_SIP2_CATEGORIES must be a JSON object") from None
        return cls(
            client,
            institution=settings.get("ELIBRARY_SIP2_INSTITUTION") or "",
            terminal_password=settings.get("ELIBRARY_SIP2_TERMINAL_PASSWORD") or "",
            categories=categories,
        )

    def authenticate(self, card_number: str, pin: str) -> PatronAccount:
        """Ask the ACS about card + PIN; ``InvalidCredentials`` or ``ILSUnavailable`` on failure."""
        reply = self.client.conversation(lambda conn: self._patron_conversation(conn, card_number, pin))
        return account_from_reply(card_number, reply, self.dialect, self.categories)

    def _patron_conversation(self, conn: Connection, card: str, pin: str) -> PatronReply:
        sep = self.dialect.field_separator
        for value in (card, pin):
            if sep in value or "\r" in value:
                raise InvalidCredentials()  # cannot be a real card or PIN, and would break the framing
        now = sip_datetime(self.dialect)
        ids = f"AO{self.institution}{sep}AA{card}{sep}AC{self.terminal_password}{sep}AD{pin}{sep}"
        if self.dialect.use_patron_information:
            body = f"63{self.dialect.language}{now}{' ' * 10}{ids}"
        else:
            body = f"23{self.dialect.language}{now}{ids}"
        reply = parse_patron_reply(conn.exchange(body), self.dialect)
        if self.dialect.send_end_session:
            end = conn.exchange(f"35{sip_datetime(self.dialect)}AO{self.institution}{sep}AA{card}{sep}")
            if not end.startswith("36"):
                raise SIP2Error("unexpected reply to End Session")
        return reply

    def paper_items(self, card_number: str) -> PaperItems:
        """Holds ready (64's ``AS``) and overdue items (``AT``), one 63 Patron Information request each.

        SIP2 allows one ``Y`` in the summary field per request: position 0 asks for hold items, 1 for
        overdue items. No PIN is sent: the terminal's login (93) authorises staff-side reads.
        """
        return self.client.conversation(lambda conn: self._paper_conversation(conn, card_number))

    def _paper_conversation(self, conn: Connection, card: str) -> PaperItems:
        sep = self.dialect.field_separator
        if sep in card or "\r" in card:
            raise InvalidCredentials()
        lists = []
        for position, field in ((0, "AS"), (1, "AT")):
            summary = " " * position + "Y" + " " * (9 - position)
            body = f"63{self.dialect.language}{sip_datetime(self.dialect)}{summary}AO{self.institution}{sep}AA{card}{sep}AC{self.terminal_password}{sep}"
            reply = parse_patron_reply(conn.exchange(body), self.dialect)
            if reply.first("BL") != "Y":
                return PaperItems()
            lists.append(tuple(v.strip() for v in reply.fields.get(field, []) if v.strip()))
        if self.dialect.send_end_session:
            end = conn.exchange(f"35{sip_datetime(self.dialect)}AO{self.institution}{sep}AA{card}{sep}")
            if not end.startswith("36"):
                raise SIP2Error("unexpected reply to End Session")
        return PaperItems(holds_ready=lists[0], overdue=lists[1])

    def close(self) -> None:
        """Close the pooled connections."""
        self.client.close()

    def status(self) -> dict:
        """Health: an SC Status (99) round trip."""
        try:
            reply = self.client.conversation(lambda conn: conn.exchange("9900302.00"))
        except SIP2Error as exc:
            return {"ok": False, "connector": "sip2", "error": str(exc)}
        return {"ok": reply.startswith("98") and reply[2:3] == "Y", "connector": "sip2"}
