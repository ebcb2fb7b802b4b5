"""LINE連携 through the LIFF endpoints: verify the ID token, link with card + password, refuse doubles, unlink."""
from __future__ import annotations

from sqlalchemy import func, select, update

from elibrary.audit.models import AccessLogEntry
from elibrary.line.models import LineLink
from tests.conftest import csrf_token_for
from tests.slow_work import SlowWork

NG = "利用者番号またはパスワードが正しくありません。"


def _post(client, url, body):
    token = csrf_token_for(client)
    return client.post(url, json=body, headers={"X-CSRF-Token": token, "Accept": "application/json"})


def _start(client, fake_line, user_id=None):
    token, user_id = fake_line.issue_token(user_id)
    response = _post(client, "/line/session", {"id_token": token})
    return response, user_id


def _links(rt) -> int:
    with rt.db.scope(write=False) as session:
        return session.scalar(select(func.count()).select_from(LineLink))


def test_liff_page_is_served_with_the_liff_id(client):
    page = client.get("/line/liff")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-liff-id="1657000000-abcdefgh"' in html
    assert "図書館カードとLINEの連携" in html


def test_link_with_card_and_password_then_signed_in(client, rt, fake_line):
    rt.ils.add("10001234", "pass-1234")
    response, user_id = _start(client, fake_line)
    assert response.status_code == 200 and response.get_json() == {"linked": False}
    assert user_id not in response.get_data(as_text=True)  # the browser never gets the user id back
    linked = _post(client, "/line/link", {"card": "１０００ １２３４", "pin": "pass-1234"})  # full-width digits, a space
    assert linked.status_code == 200 and linked.get_json()["linked"] is True
    assert client.get("/shelf").status_code == 200  # signed in
    assert _links(rt) == 1
    with rt.db.scope(write=False) as session:
        entry = session.scalars(select(AccessLogEntry).where(AccessLogEntry.subject == "line-link")).one()
        assert "1000" not in entry.detail


def test_wrong_password_gets_the_same_ng_as_an_unknown_card_and_is_throttled(client, rt, fake_line):
    rt.ils.add("10001234", "pass-1234")
    _start(client, fake_line)
    wrong_pin = _post(client, "/line/link", {"card": "10001234", "pin": "nope"})
    unknown = _post(client, "/line/link", {"card": "99999999", "pin": "pass-1234"})
    assert wrong_pin.status_code == unknown.status_code == 401
    assert wrong_pin.get_json()["title"] == unknown.get_json()["title"] == NG
    assert _links(rt) == 0
    limit = rt.throttle.policy.pair_limit  # failures of this card from this address before it must wait
    for _ in range(limit - 1):
        _post(client, "/line/link", {"card": "10001234", "pin": "nope"})
    right = _post(client, "/line/link", {"card": "10001234", "pin": "pass-1234"})  # right, but must wait now
    assert right.status_code == 429 and int(right.headers["Retry-After"]) > 0
    assert _links(rt) == 0


def test_other_sign_ins_never_wait_while_the_library_system_answers_a_link(client, rt, fake_line, monkeypatch):
    rt.ils.add("10001234", "pass-1234")
    _start(client, fake_line)
    slow, answers = SlowWork(), []
    monkeypatch.setattr(rt.ils.wrapped, "authenticate", slow.wrap(rt.ils.wrapped.authenticate))  # the library system answering slowly
    seconds, still_asking = slow.write_during(lambda: answers.append(_post(client, "/line/link", {"card": "10001234", "pin": "pass-1234"})), rt,
                                              update(LineLink).where(LineLink.id == -1).values(via="liff"))  # another request's write
    assert still_asking and seconds < 5, seconds
    assert answers[0].status_code == 200 and _links(rt) == 1


def test_ils_down_says_cannot_connect_never_ng(client, rt, fake_line):
    rt.ils.add("10001234", "pass-1234")
    rt.ils.down = True
    _start(client, fake_line)
    response = _post(client, "/line/link", {"card": "10001234", "pin": "pass-1234"})
    assert response.status_code == 503
    assert "図書館システムに接続できません" in response.get_json()["title"]


def test_second_link_is_refused_either_way(client, app, rt, fake_line):
    rt.ils.add("10001234", "pass-1234")
    rt.ils.add("10005678", "pass-5678")
    _, user_id = _start(client, fake_line)
    assert _post(client, "/line/link", {"card": "10001234", "pin": "pass-1234"}).status_code == 200
    again = _post(client, "/line/link", {"card": "10005678", "pin": "pass-5678"})
    assert again.status_code == 409 and "先に連携を解除" in again.get_json()["title"]
    other = app.test_client()  # another LINE user tries the card already linked
    _start(other, fake_line)
    taken = _post(other, "/line/link", {"card": "10001234", "pin": "pass-1234"})
    assert taken.status_code == 409 and "別のLINEアカウント" in taken.get_json()["title"]
    assert _links(rt) == 1


def test_linked_user_opens_my_page_signed_in_and_can_unlink(client, app, rt, fake_line):
    rt.ils.add("10001234", "pass-1234")
    _, user_id = _start(client, fake_line)
    _post(client, "/line/link", {"card": "10001234", "pin": "pass-1234"})
    phone = app.test_client()  # a later launch from LINE: a new browser session, a new ID token
    launched, _ = _start(phone, fake_line, user_id)
    assert launched.get_json() == {"linked": True, "next": "/shelf"}
    assert phone.get("/shelf").status_code == 200
    assert _post(phone, "/line/unlink", {}).get_json() == {"linked": False}
    assert _links(rt) == 0
    relaunch = app.test_client()
    assert _start(relaunch, fake_line, user_id)[0].get_json() == {"linked": False}
    with rt.db.scope(write=False) as session:
        subjects = session.scalars(select(AccessLogEntry.subject).order_by(AccessLogEntry.id)).all()
    assert subjects == ["line-link", "line-unlink"]


def test_replayed_expired_and_other_channel_tokens_are_refused(client, app, rt, fake_line):
    token, _ = fake_line.issue_token()
    assert _post(client, "/line/session", {"id_token": token}).status_code == 200
    replay = _post(app.test_client(), "/line/session", {"id_token": token})
    assert replay.status_code == 401 and "開き直して" in replay.get_json()["title"]
    expired, _ = fake_line.issue_token(exp_in=-5)
    assert _post(app.test_client(), "/line/session", {"id_token": expired}).status_code == 401
    other_channel, _ = fake_line.issue_token(aud="2000000000")
    assert _post(app.test_client(), "/line/session", {"id_token": other_channel}).status_code == 401
    assert _post(app.test_client(), "/line/session", {"id_token": "forged"}).status_code == 401


def test_link_without_a_verified_token_is_refused(client, rt):
    rt.ils.add("10001234", "pass-1234")
    response = _post(client, "/line/link", {"card": "10001234", "pin": "pass-1234"})
    assert response.status_code == 401 and _links(rt) == 0


def test_line_down_is_not_a_sign_in_failure(client, fake_line):
    fake_line.verify_down = True
    token, _ = fake_line.issue_token()
    response = _post(client, "/line/session", {"id_token": token})
    assert response.status_code == 503 and "LINEに接続できません" in response.get_json()["title"]


def test_staff_unlink_is_logged_with_the_staff_member(client, rt, fake_line):
    from tests.conftest import sign_in_staff

    rt.ils.add("10001234", "pass-1234")
    _start(client, fake_line)
    _post(client, "/line/link", {"card": "10001234", "pin": "pass-1234"})
    with rt.db.scope(write=False) as session:
        patron_id = session.scalar(select(LineLink.patron_id))
    client.post("/logout", data={"csrf_token": csrf_token_for(client)})
    staff = sign_in_staff(client, rt, "librarian")
    response = _post(client, f"/line/staff/patrons/{patron_id}/unlink", {})
    assert response.status_code == 200 and _links(rt) == 0
    with rt.db.scope(write=False) as session:
        entry = session.scalars(select(AccessLogEntry).where(AccessLogEntry.subject == "line-unlink")).one()
        assert entry.staff_email == staff.email and entry.patron_id == patron_id


def test_staff_see_the_link_on_the_patron_page_and_remove_it(client, rt, fake_line):
    from tests.conftest import sign_in_staff

    rt.ils.add("10001234", "pass-1234")
    _start(client, fake_line)
    _post(client, "/line/link", {"card": "10001234", "pin": "pass-1234"})
    client.post("/logout", data={"csrf_token": csrf_token_for(client)})
    sign_in_staff(client, rt, "librarian")
    page = client.post("/staff/patrons/", data={"card": "10001234", "csrf_token": csrf_token_for(client)}).get_data(as_text=True)
    assert "連携中" in page
    patron_id = int(page.split("/line/staff/patrons/")[1].split("/")[0])
    done = client.post(f"/line/staff/patrons/{patron_id}/unlink", data={"csrf_token": csrf_token_for(client)})
    assert done.status_code == 303 and _links(rt) == 0
    page = client.post("/staff/patrons/", data={"card": "10001234", "csrf_token": csrf_token_for(client)}).get_data(as_text=True)
    assert "連携していません" in page


def test_the_sdk_route_serves_only_the_liff_modules(client):
    from elibrary.line import sdk

    try:
        sdk.module_files()
    except sdk.SDKMissing:
        import pytest

        pytest.skip("@line/liff is not installed (make frontend)")
    page = client.get("/line/liff").get_data(as_text=True)
    assert '<script type="importmap">' in page and "liff-mock" not in page  # the mock only when configured
    module = client.get("/line/sdk/@line/liff/index.mjs")
    assert module.status_code == 200 and module.mimetype == "text/javascript"
    shim = client.get("/line/sdk/tiny-sha256.mjs").get_data(as_text=True)
    assert shim.startswith("const module = { exports: {} };") and shim.rstrip().endswith("export default module.exports;")
    for path in ("axios/index.js", "@line/liff/package.json", "../../elibrary/config.py", "@liff/../../foliate-js/view.js"):
        assert client.get(f"/line/sdk/{path}").status_code == 404
