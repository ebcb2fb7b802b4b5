"""The webhook: signatures, redeliveries, follow/unfollow, and LINE's account-link flow end to end."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select, update

from elibrary.line import linking
from elibrary.line.models import LineLink
from elibrary.patrons.services import find_by_card
from tests.conftest import csrf_token_for
from tests.slow_work import SlowWork

SECRET = "test-channel-secret"
USER = "U" + "3" * 32


def _signed(client, payload, secret=SECRET):
    body = json.dumps(payload).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return client.post("/line/webhook", data=body, content_type="application/json", headers={"X-Line-Signature": signature})


def _event(kind, event_id, **extra):
    return {"type": kind, "webhookEventId": event_id, "deliveryContext": {"isRedelivery": False}, "source": {"type": "user", "userId": USER}, **extra}


def _link(rt, card="77701234"):
    with rt.db.scope() as session:
        rt.ils.add(card, "pass-1234")
        from elibrary.patrons.services import add_local_patron

        patron = add_local_patron(session, rt.cipher, card, "pass-1234")
        linking.link(session, rt.cipher, patron, USER)


def _blocked(rt):
    with rt.db.scope(write=False) as session:
        return session.scalar(select(LineLink.blocked_at)) is not None


def test_bad_or_missing_signature_is_refused(client):
    payload = {"events": [_event("unfollow", "01A")]}
    assert _signed(client, payload, secret="wrong").status_code == 401
    assert client.post("/line/webhook", json=payload).status_code == 401


def test_unfollow_then_follow_and_a_redelivery_is_ignored(client, rt):
    _link(rt)
    assert _signed(client, {"events": [_event("unfollow", "01B")]}).status_code == 200
    assert _blocked(rt)
    assert _signed(client, {"events": [_event("follow", "01C")]}).status_code == 200
    assert not _blocked(rt)
    redelivered = _event("unfollow", "01B", deliveryContext={"isRedelivery": True})
    assert _signed(client, {"events": [redelivered]}).status_code == 200
    assert not _blocked(rt)  # the old unfollow was not applied again


def test_account_link_flow_from_the_chat(client, rt, fake_line):
    rt.ils.add("88801234", "pass-1234")
    ask = _event("message", "02A", replyToken="r-token", message={"type": "text", "id": "1", "text": "図書館カード連携"})
    assert _signed(client, {"events": [ask]}).status_code == 200
    (reply,) = fake_line.replies
    url = reply["messages"][0]["text"].split("\n")[-1]
    assert reply["replyToken"] == "r-token" and "/line/account-link?linkToken=" in url
    page = urlsplit(url)
    path = f"{page.path}?{page.query}"
    wrong = client.post(path, data={"card": "88801234", "pin": "nope", "csrf_token": csrf_token_for(client)})
    assert wrong.status_code == 401 and "利用者番号またはパスワードが正しくありません" in wrong.get_data(as_text=True)
    ok = client.post(path, data={"card": "88801234", "pin": "pass-1234", "csrf_token": csrf_token_for(client)})
    assert ok.status_code == 303
    target = urlsplit(ok.headers["Location"])
    assert target.path == "/dialog/bot/accountLink"
    query = parse_qs(target.query)
    assert query["linkToken"] == ["NMZTNuVrPTqlr2IF8Bnymkb7rXfYv5EY"] and len(query["nonce"][0]) >= 32
    event = _event("accountLink", "02B", link={"result": "ok", "nonce": query["nonce"][0]})
    assert _signed(client, {"events": [event]}).status_code == 200
    with rt.db.scope(write=False) as session:
        link = session.scalars(select(LineLink)).one()
        assert link.via == "account-link" and link.patron_id == find_by_card(session, rt.cipher, "88801234").id
    # The nonce is single use: replaying the event (under a new id) links nothing more and breaks nothing.
    assert _signed(client, {"events": [{**event, "webhookEventId": "02C"}]}).status_code == 200
    with rt.db.scope(write=False) as session:
        assert session.scalar(select(func.count()).select_from(LineLink)) == 1


def test_sign_ins_and_loans_go_on_while_line_answers_a_link_request(app, rt, fake_line, monkeypatch):
    slow, answers = SlowWork(), []
    monkeypatch.setattr(rt.line, "issue_link_token", slow.wrap(rt.line.issue_link_token))  # LINE answering slowly (up to 10 s)
    ask = _event("message", "02C", replyToken="r-token", message={"type": "text", "id": "1", "text": "図書館カード連携"})
    seconds, still_asking = slow.write_during(lambda: answers.append(_signed(app.test_client(), {"events": [ask]})), rt,
                                              update(LineLink).where(LineLink.id == -1).values(via="liff"))  # another request's write
    assert still_asking and seconds < 5, seconds
    assert answers[0].status_code == 200 and len(fake_line.replies) == 1


def test_account_link_with_a_failed_result_or_unknown_nonce_links_nothing(client, rt):
    for n, link in enumerate([{"result": "failed", "nonce": "x" * 40}, {"result": "ok", "nonce": "y" * 40}]):
        assert _signed(client, {"events": [_event("accountLink", f"03{n}", link=link)]}).status_code == 200
    with rt.db.scope(write=False) as session:
        assert session.scalar(select(func.count()).select_from(LineLink)) == 0
