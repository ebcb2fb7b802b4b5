"""The LINE client's own checks and error mapping, against httpx's MockTransport."""
from __future__ import annotations

import json
import time

import httpx
import pytest

from elibrary.line import client as line

USER = "U" + "5" * 32


def _client(handler, **kwargs) -> line.LineClient:
    return line.LineClient(httpx.Client(transport=httpx.MockTransport(handler)), api_base="https://api.example", login_channel_id="1657000000",
                           messaging_token="tok", **kwargs)


def _verify_answer(**claims):
    body = {"iss": "https://access.line.me", "sub": USER, "aud": "1657000000", "exp": int(time.time()) + 600, "iat": int(time.time()), **claims}
    return lambda request: httpx.Response(200, json=body)


def test_verify_sends_the_channel_id_and_returns_the_user():
    seen = {}

    def handler(request):
        seen.update(dict(x.split("=") for x in request.content.decode().split("&")))
        return _verify_answer()(request)

    assert _client(handler).verify_id_token("tok.en.x").sub == USER
    assert seen["client_id"] == "1657000000" and seen["id_token"] == "tok.en.x"


@pytest.mark.parametrize(
    "claims", [{"aud": "2000000000"}, {"iss": "https://evil.example"}, {"exp": int(time.time()) - 1}, {"sub": "not-a-user"}, {"nonce": "other"}]
)
def test_our_own_checks_refuse_what_line_let_through(claims):
    with pytest.raises(line.TokenRejected):
        _client(_verify_answer(**claims)).verify_id_token("t", nonce="mine" if "nonce" in claims else None)


def test_timeouts_and_5xx_are_unavailable_not_rejections():
    def timeout(request):
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(line.LineUnavailable):
        _client(timeout).verify_id_token("t")
    with pytest.raises(line.LineUnavailable):
        _client(lambda r: httpx.Response(502)).push(USER, [{"type": "text", "text": "x"}], "k")


@pytest.mark.parametrize(
    ("status", "body", "headers", "error"),
    [
        (429, {"message": "Too many requests"}, {"Retry-After": "7"}, line.RateLimited),
        (429, {"message": "You have reached your monthly limit."}, {}, line.QuotaExhausted),
        (400, {"message": "Failed to send messages", "details": [{"message": "The property, 'to', in the request body is invalid"}]}, {},
         line.RecipientUnreachable),
        (401, {"message": "Authentication failed"}, {}, line.MessageRejected),
    ],
)
def test_push_errors_are_classified(status, body, headers, error):
    with pytest.raises(error) as caught:
        _client(lambda r: httpx.Response(status, json=body, headers=headers)).push(USER, [{"type": "text", "text": "x"}], "k")
    if error is line.RateLimited:
        assert caught.value.retry_after == 7


def test_push_sends_bearer_and_retry_key_and_409_counts_as_sent():
    seen = []

    def handler(request):
        seen.append((request.headers["Authorization"], request.headers["X-Line-Retry-Key"], json.loads(request.content)))
        return httpx.Response(409, json={"message": "The retry key is already accepted"})

    _client(handler).push(USER, [{"type": "text", "text": "x"}], "123e4567-e89b-12d3-a456-426614174000")
    assert seen == [("Bearer tok", "123e4567-e89b-12d3-a456-426614174000", {"to": USER, "messages": [{"type": "text", "text": "x"}]})]
    with pytest.raises(ValueError):
        _client(handler).multicast([USER] * 501, [{"type": "text", "text": "x"}], "k")
