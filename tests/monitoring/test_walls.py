"""Staff pages behind the city's walls: allowed networks, HTTPS only in production; the public site stays open."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from elibrary import create_app
from elibrary.security.events import SecurityEvent

INSIDE, OUTSIDE = "192.0.2.10", "203.0.113.50"


@pytest.fixture
def app_config(app_config):
    app_config["ELIBRARY_STAFF_NETWORKS"] = "192.0.2.0/24, 2001:db8:10::/48"
    return app_config


def get(client, path, address, **kw):
    return client.get(path, environ_base={"REMOTE_ADDR": address}, **kw)


def test_staff_pages_answer_inside_and_refuse_outside_in_both_languages(client, rt):
    assert get(client, "/staff/login", INSIDE).status_code == 200
    assert get(client, "/staff/login", "2001:db8:10::5").status_code == 200
    refused = get(client, "/staff/login", OUTSIDE)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 403
    assert "図書館と市役所のネットワークからのみ" in page and "library's and the city hall's networks" in page
    for path in ("/admin/titles", "/staff/audit/", "/staff/security-events/", "/staff/selection/"):
        assert get(client, path, OUTSIDE).status_code == 403, path
    with rt.db.scope(write=False) as session:
        rows = list(session.scalars(select(SecurityEvent)))
    assert {r.kind for r in rows} == {"network.refused"} and len(rows) == 5  # one event per refusal, not two
    assert rows[0].client_address == OUTSIDE and rows[0].detail == {"reason": "network", "path": "/staff/login"}


def test_a_password_typed_outside_is_refused_before_it_is_checked(client, rt):
    response = client.post("/staff/login", data={"email": "a@city.example.jp", "password": "x"}, environ_base={"REMOTE_ADDR": OUTSIDE})
    assert response.status_code == 403
    with rt.db.scope(write=False) as session:
        assert [r.kind for r in session.scalars(select(SecurityEvent))] == ["network.refused"]  # no sign-in failure counted


def test_public_site_opds_health_and_readers_stay_open(client):
    for path in ("/", "/search?q=a", "/opds/v2/", "/opds/v1/", "/opds/auth", "/login", "/healthz", "/staffroom-is-not-staff"):
        assert get(client, path, OUTSIDE).status_code in (200, 404), path
    assert get(client, "/", OUTSIDE).status_code == 200 and get(client, "/opds/v2/", OUTSIDE).status_code == 200


def test_a_forged_forwarded_for_does_not_open_the_walls(app_config):
    app_config["ELIBRARY_TRUSTED_PROXIES"] = 1
    client = create_app(app_config).test_client()
    # nginx (the trusted proxy) appends the real client; a forged first hop is not believed
    forged = client.get("/staff/login", headers={"X-Forwarded-For": f"{INSIDE}, {OUTSIDE}"}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert forged.status_code == 403
    real = client.get("/staff/login", headers={"X-Forwarded-For": INSIDE}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert real.status_code == 200


def test_https_only_in_production_refuses_plain_http(app_config):
    app_config.update(ELIBRARY_STAFF_NETWORKS="", ELIBRARY_STAFF_HTTPS_ONLY="1")
    client = create_app(app_config).test_client()
    plain = client.get("/staff/login")
    assert plain.status_code == 403 and "https://" in plain.get_data(as_text=True)
    assert client.get("/staff/login", base_url="https://localhost").status_code == 200
    assert client.get("/").status_code == 200


def test_no_walls_configured_means_none(app_config):
    app_config.update(ELIBRARY_STAFF_NETWORKS="")
    client = create_app(app_config).test_client()
    assert get(client, "/staff/login", OUTSIDE).status_code == 200
