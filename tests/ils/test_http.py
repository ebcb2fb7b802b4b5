"""The HTTP connector: mapping rules against httpx's MockTransport, and sign-in through the app
against a real JSON API on loopback (including the ILS going down)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import httpx
import pytest

from elibrary.config import ConfigError
from elibrary.ils.base import ILSUnavailable, InvalidCredentials
from elibrary.ils.http import HTTPConnector, dig, load_mapping
from tests.conftest import csrf_token_for

MAPPING = {
    "url": "http://ils.invalid/api/auth",
    "method": "POST",
    "body": "json",
    "request": {"card": "userId", "pin": "password"},
    "static": {"libraryCode": "KOBE01"},
    "success": {"status": [200], "field": "result.code", "equals": ["0"]},
    "response": {
        "name": "patron.name", "category": "patron.type", "expires_on": "patron.expiry",
        "blocked": "patron.suspended", "block_reason": "patron.reason", "email": "patron.mail",
    },
    "date_format": "%Y/%m/%d",
    "categories": {"一般": "citizen", "児童": "student", "*": "citizen"},
}


def api_reply(card: str, pin: str) -> tuple[int, dict]:
    """A vendor-like API: result code 0 on success, 9 on a wrong PIN; 404 for an unknown card."""
    patrons = {
        "20240001": ("2468", {"name": "山田 花子", "type": "一般", "expiry": "2099/03/31", "suspended": "0", "mail": "hanako@example.jp"}),
        "20240002": ("1357", {"name": "佐藤 次郎", "type": "児童", "expiry": "2099/03/31", "suspended": "1", "reason": "延滞資料があります"}),
        "20240003": ("1111", {"name": "鈴木 三郎", "type": "一般", "expiry": "2001/01/31", "suspended": "0"}),
    }
    if card not in patrons:
        return 404, {"result": {"code": "E404"}}
    if pin != patrons[card][0]:
        return 200, {"result": {"code": "9", "message": "PIN error"}}
    return 200, {"result": {"code": "0"}, "patron": patrons[card][1]}


def mock_connector(mapping=MAPPING, status=None, raise_exc=None, raw=None, seen=None):
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if raise_exc:
            raise raise_exc
        if raw is not None:
            return httpx.Response(200, content=raw)
        if request.method == "GET" or request.headers.get("content-type", "").startswith("application/x-www-form"):
            source = parse_qs(request.url.query.decode() if request.method == "GET" else request.content.decode())
            body = {k: v[0] for k, v in source.items()}
        else:
            body = json.loads(request.content)
        code, document = api_reply(body.get("userId", ""), body.get("password", ""))
        return httpx.Response(status or code, json=document)

    return HTTPConnector(mapping, client=httpx.Client(transport=httpx.MockTransport(handler)))


def test_success_reads_the_mapped_fields():
    seen = []
    account = mock_connector(seen=seen).authenticate("20240001", "2468")
    assert account.name == "山田 花子" and account.category == "citizen" and not account.blocked
    assert account.expires_on.isoformat() == "2099-03-31" and account.extra["email"] == "hanako@example.jp"
    sent = json.loads(seen[0].content)
    assert sent == {"libraryCode": "KOBE01", "userId": "20240001", "password": "2468"}


def test_blocked_and_expired_cards_sign_in_with_reasons():
    blocked = mock_connector().authenticate("20240002", "1357")
    assert blocked.blocked and blocked.block_reasons == ("延滞資料があります",) and blocked.category == "student"
    expired = mock_connector().authenticate("20240003", "1111")
    assert expired.blocked and expired.block_reasons == ("利用カードの有効期限が切れています",)


def test_wrong_pin_by_success_rule_and_unknown_card_by_status():
    with pytest.raises(InvalidCredentials):
        mock_connector().authenticate("20240001", "0000")
    with pytest.raises(InvalidCredentials):
        mock_connector().authenticate("99999999", "2468")


@pytest.mark.parametrize(
    "options",
    [{"status": 500}, {"status": 302}, {"raise_exc": httpx.ConnectTimeout("timed out")}, {"raise_exc": httpx.ConnectError("refused")},
     {"raw": b"<html>maintenance</html>"}],
)
def test_outages_are_an_unavailable_ils(options):
    with pytest.raises(ILSUnavailable):
        mock_connector(**options).authenticate("20240001", "2468")


@pytest.mark.parametrize("method,body", [("GET", "query"), ("POST", "form")])
def test_query_and_form_requests(method, body):
    seen = []
    connector = mock_connector({**MAPPING, "method": method, "body": body}, seen=seen)
    assert connector.authenticate("20240001", "2468").name == "山田 花子"
    assert seen[0].method == method


def test_mapping_is_checked_and_accepts_json_text_and_files(tmp_path):
    with pytest.raises(ConfigError):
        load_mapping({"url": "http://x"})
    with pytest.raises(ConfigError):
        load_mapping({**MAPPING, "body": "xml"})
    with pytest.raises(ConfigError):
        load_mapping("{not json")
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps(MAPPING, ensure_ascii=False), encoding="utf-8")
    assert load_mapping(str(path))["categories"]["児童"] == "student"
    assert load_mapping(json.dumps(MAPPING))["url"] == MAPPING["url"]
    assert dig({"a": [{"b": 1}]}, "a.0.b") == 1 and dig({"a": 1}, "a.b") is None


# --- through the application, against a real server on loopback ---------------------------------

class FakeVendorAPI(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        code, document = api_reply(body.get("userId", ""), body.get("password", ""))
        data = json.dumps(document, ensure_ascii=False).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def vendor_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeVendorAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def app_config(app_config, vendor_api):
    host, port = vendor_api.server_address
    app_config["ELIBRARY_ILS"] = "http"
    app_config["ELIBRARY_ILS_HTTP_MAPPING"] = {**MAPPING, "url": f"http://{host}:{port}/api/auth", "timeout": 2}
    return app_config


def test_sign_in_through_the_vendor_api_and_the_ils_going_down(client, rt, vendor_api):
    token = csrf_token_for(client)
    ok = client.post("/login", data={"card": "２０２４ ０００１", "pin": "2468", "csrf_token": token})
    assert ok.status_code == 303
    client.post("/logout", data={"csrf_token": csrf_token_for(client)})  # the token changed at sign-in
    token = csrf_token_for(client)  # and again at sign-out
    wrong = client.post("/login", data={"card": "20240001", "pin": "0000", "csrf_token": token})
    assert wrong.status_code == 401

    vendor_api.shutdown()
    vendor_api.server_close()
    down = client.post("/login", data={"card": "20240001", "pin": "2468", "csrf_token": token})
    text = down.get_data(as_text=True)
    assert down.status_code == 503 and "図書館システムに接続できません" in text
    with client.session_transaction() as session:
        assert "_user_id" not in session  # no sign-in on what we knew before
    rt.ils.close()


def test_opds_clients_get_503_problem_json_when_the_ils_is_down(client, rt, vendor_api):
    import base64

    vendor_api.shutdown()
    vendor_api.server_close()
    credentials = base64.b64encode(b"20240001:2468").decode()
    response = client.get("/opds/v2/", headers={"Authorization": f"Basic {credentials}"})
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert "図書館システムに接続できません" in response.get_json()["title_ja"]
    rt.ils.close()
