"""OPDS Basic auth shares the sign-in form's brute-force throttle, and asks a real ILS every time."""
from __future__ import annotations

import base64

import pytest

from elibrary.ils.base import PatronAccount

SHELF = "/opds/v2/shelf"


@pytest.fixture
def app_config(app_config):
    app_config.update(ELIBRARY_SIGNIN_PAIR_LIMIT=3)
    return app_config


def basic(card: str, pin: str) -> dict:
    token = base64.b64encode(f"{card}:{pin}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Accept": "application/opds+json"}


def shelf_url(client) -> str:
    root = client.get("/opds/v2/", headers={"Accept": "application/opds+json"}).get_json()
    return next(link["href"] for link in root["links"] if link["rel"] == "http://opds-spec.org/shelf")


def test_repeated_wrong_pins_lock_the_card_even_with_the_right_pin(runner, client):
    runner.invoke(args=["patrons", "add", "30000001", "--pin", "2468"])
    url = shelf_url(client)
    assert client.get(url, headers=basic("30000001", "2468")).status_code == 200
    statuses = [client.get(url, headers=basic("30000001", "0000")).status_code for _ in range(4)]
    assert statuses[0] == 401 and statuses[-1] == 429
    locked = client.get(url, headers=basic("30000001", "2468"))
    assert locked.status_code == 429
    assert locked.mimetype == "application/problem+json"
    assert locked.get_json()["title_ja"].startswith("ログインの失敗が続いた")


@pytest.fixture
def fake_ils_config(app_config):
    app_config.update(ELIBRARY_ILS="fake")
    return app_config


def test_with_a_real_ils_every_request_asks_it(fake_ils_config, rt, client):
    rt.ils.add("40000001", "2468", category="citizen")
    url = shelf_url(client)
    assert client.get(url, headers=basic("40000001", "2468")).status_code == 200
    rt.ils.down = True  # the ILS goes down: no answer from remembered credentials
    down = client.get(url, headers=basic("40000001", "2468"))
    assert down.status_code == 503 and down.mimetype == "application/problem+json"
    rt.ils.down = False
    rt.ils.accounts["40000001"] = ("1357", PatronAccount(card_number="40000001"))  # PIN changed at the ILS
    assert client.get(url, headers=basic("40000001", "2468")).status_code == 401
