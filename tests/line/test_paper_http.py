"""Paper holds and overdues through the HTTP connector: a vendor-like JSON API on loopback, polled for LINE notices."""
from __future__ import annotations

import json
import threading
from datetime import date, datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from sqlalchemy import select

from elibrary.config import ConfigError
from elibrary.ils.base import ILSUnavailable, PaperCirculation, PaperItems
from elibrary.ils.http import HTTPConnector, HTTPPaperConnector, load_mapping
from elibrary.line import linking, paper
from elibrary.notify.models import OutboxMessage
from elibrary.patrons.services import add_local_patron

CARD = "20240001"
USER = "U" + "5" * 32
TODAY = date(2026, 12, 7)
MAPPING = {
    "url": "http://ils.invalid/api/auth",
    "request": {"card": "userId", "pin": "password"},
    "headers": {"X-Api-Key": "staff-key"},
    "date_format": "%Y/%m/%d",
    "paper": {
        "url": "http://ils.invalid/api/patrons/{card}/items",
        "method": "GET",
        "holds": "patron.reservations",
        "hold_ready": {"field": "status", "equals": ["取置中"]},
        "loans": "patron.loans",
        "due_date": "dueDate",
        "item_id": "itemId",
    },
}
ITEMS = {
    CARD: {
        "reservations": [{"itemId": "3100123", "status": "取置中"}, {"itemId": "3100999", "status": "予約中"}],
        "loans": [{"itemId": "3100456", "dueDate": "2026/12/01"}, {"itemId": "3100457", "dueDate": "2026/12/20"}],
    }
}


def vendor_reply(path: str) -> tuple[int, dict]:
    card = path.rstrip("/").split("/")[-2]
    if card not in ITEMS:
        return 404, {"error": "no such patron"}
    return 200, {"patron": ITEMS[card]}


def mock(status=None, seen=None):
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        code, document = vendor_reply(request.url.path)
        return httpx.Response(status or code, json=document)

    return HTTPPaperConnector(load_mapping(MAPPING), client=httpx.Client(transport=httpx.MockTransport(handler)))


def test_holds_at_the_counter_and_loans_past_due_are_read_by_the_mapping():
    seen = []
    items = mock(seen=seen).paper_items(CARD, today=TODAY)
    assert items == PaperItems(holds_ready=("3100123",), overdue=("3100456",))
    assert seen[0].method == "GET" and seen[0].url.path == f"/api/patrons/{CARD}/items"
    assert seen[0].headers["X-Api-Key"] == "staff-key" and "password" not in str(seen[0].url)


def test_unknown_card_has_nothing_and_an_outage_is_unavailable():
    assert mock().paper_items("99999999", today=TODAY) == PaperItems()
    with pytest.raises(ILSUnavailable):
        mock(status=503).paper_items(CARD, today=TODAY)


def test_the_capability_comes_with_the_paper_section_only():
    with_paper = HTTPConnector.from_settings({"ELIBRARY_ILS_HTTP_MAPPING": MAPPING})
    without = HTTPConnector.from_settings({"ELIBRARY_ILS_HTTP_MAPPING": {k: v for k, v in MAPPING.items() if k != "paper"}})
    assert isinstance(with_paper, PaperCirculation) and not isinstance(without, PaperCirculation)
    with pytest.raises(ConfigError):
        load_mapping({**MAPPING, "paper": {"url": "http://x"}})


def test_an_overdue_flag_instead_of_a_due_date():
    mapping = {**MAPPING, "paper": {**MAPPING["paper"], "due_date": None, "overdue": "late"}}

    def handler(request):
        return httpx.Response(200, json={"patron": {"loans": [{"itemId": "A", "late": "Y"}, {"itemId": "B", "late": "N"}]}})

    connector = HTTPPaperConnector(load_mapping(mapping), client=httpx.Client(transport=httpx.MockTransport(handler)))
    assert connector.paper_items(CARD, today=TODAY).overdue == ("A",)


# --- polled for LINE notices against a real server on loopback ------------------------------------

class VendorItemsAPI(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        assert self.headers["X-Api-Key"] == "staff-key"
        assert not parse_qs(urlparse(self.path).query).get("password")
        code, document = vendor_reply(urlparse(self.path).path)
        data = json.dumps(document, ensure_ascii=False).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def vendor_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), VendorItemsAPI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://%s:%s" % server.server_address
    server.shutdown()
    server.server_close()


@pytest.fixture
def app_config(app_config, vendor_api):
    mapping = {**MAPPING, "url": f"{vendor_api}/api/auth", "paper": {**MAPPING["paper"], "url": vendor_api + "/api/patrons/{card}/items"}}
    return {**app_config, "ELIBRARY_ILS": "http", "ELIBRARY_ILS_HTTP_MAPPING": mapping,
            "ELIBRARY_NOTIFIER": "line", "ELIBRARY_NOTIFIER_EMAIL": "memory"}


def test_a_poll_through_the_http_connector_notifies_each_item_once(rt, fake_line):
    night = datetime(2026, 12, 7, 17, 0, tzinfo=timezone.utc)  # 02:00 in Tokyo
    assert isinstance(rt.ils, PaperCirculation)
    with rt.db.scope() as session:
        patron = add_local_patron(session, rt.cipher, CARD, "pass-1234")
        linking.link(session, rt.cipher, patron, USER)
    report = paper.poll(rt.db, rt.ils, rt.cipher, now=lambda: night, budget_seconds=60, workers=2)
    assert (report.polled, report.notices, report.failed) == (1, 2, 0)
    assert paper.poll(rt.db, rt.ils, rt.cipher, now=lambda: night, budget_seconds=60).notices == 0
    with rt.db.scope(write=False) as session:
        kinds = sorted(session.scalars(select(OutboxMessage.kind).where(OutboxMessage.channel == "line")))
    assert kinds == ["overdue", "paper-hold-ready"]
