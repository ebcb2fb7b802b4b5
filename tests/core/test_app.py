"""The application shell: health check, errors, locale, CLI basics."""


def test_healthz_reports_components(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "search", "storage"}
    assert all(check["ok"] for check in body["checks"].values())


def test_healthz_is_503_when_storage_is_broken(app, client, rt, monkeypatch):
    monkeypatch.setattr(rt.storage, "status", lambda: {"ok": False, "error": "disk full"})
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["storage"]["ok"] is False


def test_unknown_page_is_a_japanese_404_page(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "ページが見つかりませんでした" in response.get_data(as_text=True)


def test_english_switch_is_remembered(client):
    response = client.get("/no-such-page?lang=en")
    assert "Page not found" in response.get_data(as_text=True)
    assert "lang=en" in response.headers.get("Set-Cookie", "")
    assert "Page not found" in client.get("/no-such-page").get_data(as_text=True)


def test_api_errors_are_problem_json(client):
    response = client.get("/opds/no-such-feed")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 404 and body["title_ja"] and body["title_en"]


def test_forms_without_csrf_token_are_refused(client):
    response = client.post("/login", data={"card": "1", "pin": "x"})
    assert response.status_code == 400
