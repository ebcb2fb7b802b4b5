"""The HTTP connector: ILSs with a web API (most Japanese vendors), driven by a documented mapping.

The mapping (setting ``ELIBRARY_ILS_HTTP_MAPPING``: a dict in ``instance/config.py``, JSON text, or the
path of a JSON file) says how to ask and how to read the answer::

    {
      "url": "https://ils.example.jp/api/v1/patrons/authenticate",
      "method": "POST",                          # GET or POST
      "body": "json",                            # json, form, or query (parameters in the URL)
      "request": {"card": "userId", "pin": "password"},   # our value -> their field name
      "static": {"libraryCode": "KOBE01"},       # sent with every request
      "headers": {"X-Api-Key": "..."},
      "timeout": 5,
      "success": {"status": [200], "field": "result.code", "equals": ["0", "OK"]},
      "invalid_status": [401, 403, 404],         # statuses meaning unknown card or wrong PIN
      "response": {                              # dotted paths into the JSON reply
        "card": "patron.cardNo", "name": "patron.name", "category": "patron.type",
        "expires_on": "patron.expiryDate", "blocked": "patron.suspended",
        "block_reason": "patron.suspendReason", "email": "patron.mail"
      },
      "date_format": "%Y-%m-%d",
      "blocked_values": [true, 1, "1", "Y", "true"],
      "categories": {"一般": "citizen", "児童": "student", "*": "citizen"}
    }

An optional ``"register"`` section lets staff send a registration confirmed at the counter to the ILS,
which answers with the card number it issued::

      "register": {"url": "https://ils.example.jp/api/v1/patrons", "method": "POST", "body": "json",
                   "fields": {"name": "name", "kana": "nameKana", "birth_date": "birthDate",
                              "postal_code": "zip", "address": "address", "phone": "tel",
                              "email": "mail", "category": "type"},
                   "static": {"libraryCode": "KOBE01"}, "success_status": [200, 201],
                   "card": "patron.cardNo"}

An optional ``"paper"`` section gives the connector the ``PaperCirculation`` capability (the LINE notices
of paper books ready at the counter and overdue): one request per patron, the card sent as
``request.card`` (or in the URL as ``{card}``), no PIN (the API key in ``headers`` authorises it)::

      "paper": {"url": "https://ils.example.jp/api/v1/patrons/{card}/items", "method": "GET",
                "request": {"card": "userId"},
                "holds": "reservations", "hold_ready": {"field": "status", "equals": ["取置中"]},
                "loans": "loans", "due_date": "dueDate",
                "item_id": "itemId"}

``holds`` and ``loans`` are dotted paths to lists; ``hold_ready`` keeps the holds waiting at the counter
(all of them when absent); a loan is overdue when its ``due_date`` is before today in Japan, or when its
``overdue`` path (instead of ``due_date``) holds one of ``blocked_values``. An unknown card (a status in
``invalid_status``) has no paper items.

Rule: a status in ``invalid_status``, or a success status whose ``success.field`` is not one of
``success.equals``, means wrong credentials; anything else (timeouts, 5xx, non-JSON) means the ILS is
unavailable. Only ``url`` and ``request`` are required.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx

from elibrary.ils.base import ILSUnavailable, InvalidCredentials, PaperItems, PatronAccount

log = logging.getLogger(__name__)
TOKYO = ZoneInfo("Asia/Tokyo")

DEFAULTS: dict[str, Any] = {
    "method": "POST",
    "body": "json",
    "static": {},
    "headers": {},
    "timeout": 5,
    "success": {"status": [200]},
    "invalid_status": [401, 403, 404],
    "response": {},
    "date_format": "%Y-%m-%d",
    "blocked_values": [True, 1, "1", "Y", "y", "true", "TRUE", "yes"],
    "categories": {},
}


def load_mapping(value: Any) -> dict[str, Any]:
    """The mapping from a dict, JSON text or a JSON file path, with defaults filled in and checked."""
    from elibrary.config import ConfigError

    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text if text.startswith("{") else Path(text).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"ELIBRARY_ILS_HTTP_MAPPING is not readable JSON: {exc}") from None
    if not isinstance(value, Mapping):
        raise ConfigError("ELIBRARY_ILS_HTTP_MAPPING must be a JSON object")
    mapping = {**DEFAULTS, **value}
    if not mapping.get("url") or not isinstance(mapping.get("request"), Mapping) or not {"card", "pin"} <= set(mapping["request"]):
        raise ConfigError("ELIBRARY_ILS_HTTP_MAPPING needs \"url\" and \"request\": {\"card\": ..., \"pin\": ...}")
    if mapping["method"].upper() not in ("GET", "POST") or mapping["body"] not in ("json", "form", "query"):
        raise ConfigError("ELIBRARY_ILS_HTTP_MAPPING: method is GET or POST; body is json, form or query")
    paper = mapping.get("paper")
    if paper is not None and (not isinstance(paper, Mapping) or not paper.get("url") or not (paper.get("holds") or paper.get("loans"))):
        raise ConfigError("ELIBRARY_ILS_HTTP_MAPPING: \"paper\" needs \"url\" and \"holds\" or \"loans\"")
    return mapping


def dig(document: Any, path: str | None) -> Any:
    """The value at a dotted path (``patron.name``, ``items.0.id``), or None."""
    if not path:
        return None
    current = document
    for part in path.split("."):
        if isinstance(current, Mapping):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


class HTTPConnector:
    """``ELIBRARY_ILS = "http"``: one request per sign-in through an injected ``httpx.Client``."""

    def __init__(self, mapping: Mapping[str, Any], client: httpx.Client | None = None) -> None:
        self.mapping = load_mapping(dict(mapping))
        self.client = client or httpx.Client(timeout=float(self.mapping["timeout"]), follow_redirects=False)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "HTTPConnector":
        """Build from ``ELIBRARY_ILS_HTTP_MAPPING``."""
        from elibrary.config import ConfigError

        if not settings.get("ELIBRARY_ILS_HTTP_MAPPING"):
            raise ConfigError("ELIBRARY_ILS is http but ELIBRARY_ILS_HTTP_MAPPING is not set")
        mapping = load_mapping(settings["ELIBRARY_ILS_HTTP_MAPPING"])
        return (HTTPPaperConnector if mapping.get("paper") else cls)(mapping)

    def authenticate(self, card_number: str, pin: str) -> PatronAccount:
        """Ask the ILS; ``InvalidCredentials`` or ``ILSUnavailable`` on failure (never a cached answer)."""
        m = self.mapping
        payload = {**m["static"], m["request"]["card"]: card_number, m["request"]["pin"]: pin}
        response = self._request(m["method"], m["body"], m["url"], payload)
        if response.status_code in m["invalid_status"]:
            raise InvalidCredentials()
        if response.status_code not in m["success"].get("status", [200]):
            raise ILSUnavailable(f"ILS answered HTTP {response.status_code}")
        try:
            document = response.json()
        except ValueError:
            raise ILSUnavailable("ILS reply is not JSON") from None
        field = m["success"].get("field")
        if field is not None:
            wanted = m["success"].get("equals", [True])
            wanted = wanted if isinstance(wanted, list) else [wanted]
            if dig(document, field) not in wanted:
                raise InvalidCredentials()
        return self._account(card_number, document)

    def _request(self, method: str, body: str, url: str, payload: Mapping[str, Any]) -> httpx.Response:
        """One request with the mapping's headers; a transport failure is an unavailable ILS."""
        method = method.upper()
        kwargs: dict[str, Any] = {"headers": self.mapping["headers"]}
        if method == "GET" or body == "query":
            kwargs["params"] = payload
        elif body == "form":
            kwargs["data"] = payload
        else:
            kwargs["json"] = payload
        try:
            return self.client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise ILSUnavailable(f"ILS HTTP request failed: {exc.__class__.__name__}") from None

    def _account(self, card_number: str, document: Any) -> PatronAccount:
        m, paths = self.mapping, self.mapping["response"]
        expires_on = _parse_date(dig(document, paths.get("expires_on")), m["date_format"])
        blocked = dig(document, paths.get("blocked")) in m["blocked_values"]
        reasons = []
        if blocked:
            reasons.append(str(dig(document, paths.get("block_reason")) or "図書館システムで利用が停止されています"))
        if expires_on and expires_on < date.today():
            reasons.append("利用カードの有効期限が切れています")
        raw_category = str(dig(document, paths.get("category")) or "")
        categories = m["categories"]
        extra = {}
        email = dig(document, paths.get("email"))
        if email:
            extra["email"] = str(email)
        birth = _parse_date(dig(document, paths.get("birth_date")), m["date_format"]) if paths.get("birth_date") else None
        if birth:
            extra["birth_date"] = birth.isoformat()  # only for age statistics (an age at each event, never the date)
        name = dig(document, paths.get("name"))
        return PatronAccount(
            card_number=str(dig(document, paths.get("card")) or card_number),
            category=categories.get(raw_category, categories.get("*", "citizen")),
            name=str(name) if name else None,
            expires_on=expires_on,
            blocked=bool(reasons),
            block_reasons=tuple(reasons),
            extra=extra,
        )

    @property
    def can_register(self) -> bool:
        """Whether the mapping says how to send new patrons to the ILS."""
        return isinstance(self.mapping.get("register"), Mapping) and bool(self.mapping["register"].get("url"))

    def register_patron(self, record: Mapping[str, str | None]) -> str:
        """Create the patron in the ILS from ``record`` (our field names); returns the ILS's card number."""
        spec = self.mapping.get("register") or {}
        if not self.can_register:
            raise ILSUnavailable("the HTTP mapping has no \"register\" section")
        payload = dict(spec.get("static") or {})
        for ours, theirs in (spec.get("fields") or {}).items():
            if record.get(ours) is not None:
                payload[theirs] = record[ours]
        kwargs: dict[str, Any] = {"headers": self.mapping["headers"]}
        kwargs["data" if spec.get("body") == "form" else "json"] = payload
        try:
            response = self.client.request(str(spec.get("method", "POST")).upper(), spec["url"], **kwargs)
            document = response.json() if response.status_code in (spec.get("success_status") or [200, 201]) else None
        except (httpx.HTTPError, ValueError) as exc:
            raise ILSUnavailable(f"ILS registration failed: {exc.__class__.__name__}") from None
        card = dig(document, spec.get("card")) if document is not None else None
        if not card:
            raise ILSUnavailable(f"ILS refused the registration (HTTP {response.status_code})")
        return str(card)

    def status(self) -> dict:
        """The connector is configured; the ILS is only asked when someone signs in."""
        return {"ok": True, "connector": "http"}

    def close(self) -> None:
        """Close the HTTP client's connections."""
        self.client.close()


class HTTPPaperConnector(HTTPConnector):
    """The HTTP connector of a mapping with a ``"paper"`` section: it can also report paper holds and overdues."""

    def paper_items(self, card_number: str, today: date | None = None) -> PaperItems:
        """Holds waiting at the counter and overdue loans (item ids), in one request; ``ILSUnavailable`` on failure."""
        m, spec = self.mapping, self.mapping["paper"]
        payload = dict(m["static"])
        if (spec.get("request") or {}).get("card"):
            payload[spec["request"]["card"]] = card_number
        url = str(spec["url"]).replace("{card}", quote(card_number, safe=""))
        response = self._request(str(spec.get("method", "GET")), str(spec.get("body", "query")), url, payload)
        if response.status_code in m["invalid_status"]:
            return PaperItems()
        if response.status_code not in (spec.get("success_status") or [200]):
            raise ILSUnavailable(f"ILS answered HTTP {response.status_code}")
        try:
            document = response.json()
        except ValueError:
            raise ILSUnavailable("ILS reply is not JSON") from None
        today = today or datetime.now(TOKYO).date()
        ready = [item for item in _items(document, spec.get("holds")) if _matches(item, spec.get("hold_ready"))]
        overdue = [item for item in _items(document, spec.get("loans")) if self._overdue(item, spec, today)]
        return PaperItems(holds_ready=_ids(ready, spec.get("item_id")), overdue=_ids(overdue, spec.get("item_id")))

    def _overdue(self, item: Any, spec: Mapping[str, Any], today: date) -> bool:
        if spec.get("overdue"):
            return dig(item, spec["overdue"]) in self.mapping["blocked_values"]
        due = _parse_date(dig(item, spec.get("due_date")), self.mapping["date_format"])
        return due is not None and due < today


def _items(document: Any, path: str | None) -> list:
    found = dig(document, path) if path else None
    return found if isinstance(found, list) else []


def _matches(item: Any, rule: Mapping[str, Any] | None) -> bool:
    if not rule:
        return True
    wanted = rule.get("equals", [True])
    return dig(item, rule.get("field")) in (wanted if isinstance(wanted, list) else [wanted])


def _ids(items: list, path: str | None) -> tuple[str, ...]:
    ids = (str(dig(item, path) if path and isinstance(item, Mapping) else item).strip() for item in items)
    return tuple(value for value in ids if value and value != "None")


def _parse_date(value: Any, fmt: str) -> date | None:
    if not value:
        return None
    try:
        return datetime.strptime(str(value)[:40], fmt).date()
    except ValueError:
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            return None
