"""One contract for every ILS connector (local, fake, sip2, http): the same cards give the same answers."""
from __future__ import annotations

import threading
from datetime import date
from http.server import ThreadingHTTPServer

import pytest

from elibrary.ils.base import ILSConnector, ILSUnavailable, InvalidCredentials, PatronAccount
from elibrary.ils.fake import FakeILS
from elibrary.ils.http import HTTPConnector
from elibrary.ils.sip2.client import SIP2Client
from elibrary.ils.sip2.connector import SIP2Connector
from elibrary.ils.sip2.dialect import DIALECTS
from elibrary.patrons.services import add_local_patron
from tests.ils.test_http import MAPPING, FakeVendorAPI

CARD, PIN = "20240001", "2468"


@pytest.fixture(params=["local", "fake", "sip2", "http"])
def connector(request, engine_name):
    """A connector that knows card 20240001 with PIN 2468, and nobody else with that PIN."""
    kind = request.param
    if kind != "local" and engine_name != "sqlite":
        pytest.skip("only the local connector uses the database")
    if kind == "local":
        rt = request.getfixturevalue("rt")
        with rt.db.scope() as session:
            add_local_patron(session, rt.cipher, CARD, PIN, name="山田 花子")
        yield rt.ils
    elif kind == "fake":
        fake = FakeILS()
        fake.add(CARD, PIN, name="山田 花子")
        yield fake
    elif kind == "sip2":
        port = request.getfixturevalue("start_acs")("acs_pysip2.py", "--login-required")
        sip = SIP2Connector(SIP2Client("127.0.0.1", port, DIALECTS["generic"], user="elibrary", password="sip-secret", timeout=3), institution="KOBE")
        yield sip
        sip.close()
    else:
        server = ThreadingHTTPServer(("127.0.0.1", 0), FakeVendorAPI)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        host, port = server.server_address
        http = HTTPConnector({**MAPPING, "url": f"http://{host}:{port}/api/auth"})
        yield http
        http.close()
        server.shutdown()
        server.server_close()


def test_is_an_ils_connector(connector):
    assert isinstance(connector, ILSConnector)


def test_good_card_and_pin(connector):
    account = connector.authenticate(CARD, PIN)
    assert isinstance(account, PatronAccount) and account.card_number == CARD
    assert account.expires_on is None or isinstance(account.expires_on, date)
    assert isinstance(account.block_reasons, tuple)


@pytest.mark.parametrize("card,pin", [(CARD, "0000"), ("99999999", PIN), (CARD, "")])
def test_wrong_pin_or_unknown_card(connector, card, pin):
    with pytest.raises(InvalidCredentials):
        connector.authenticate(card, pin)


def test_status_is_a_dict_with_ok(connector):
    status = connector.status()
    assert status["ok"] is True and isinstance(status.get("connector"), str)


def test_errors_are_ils_errors():
    assert issubclass(InvalidCredentials, Exception) and issubclass(ILSUnavailable, Exception)
