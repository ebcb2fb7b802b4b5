"""A fake LINE API on loopback (pytest-httpserver): the verify endpoint, push, multicast and linkToken.

Tokens are registered with ``issue_token``; every push or multicast request is recorded with its headers,
and ``push_responses`` queues answers (status, body) for the next pushes, to simulate 429, 500 and blocks.
"""
from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass, field

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

CHANNEL_ID = "1657000000"


@dataclass
class FakeLine:
    server: HTTPServer
    tokens: dict[str, dict] = field(default_factory=dict)
    pushes: list[dict] = field(default_factory=list)
    push_responses: list[tuple[int, dict]] = field(default_factory=list)
    seen_retry_keys: set[str] = field(default_factory=set)
    replies: list[dict] = field(default_factory=list)
    verify_calls: int = 0
    verify_down: bool = False

    @property
    def base(self) -> str:
        return self.server.url_for("").rstrip("/")

    def install(self) -> "FakeLine":
        self.server.expect_request("/oauth2/v2.1/verify", method="POST").respond_with_handler(self._verify)
        self.server.expect_request("/v2/bot/message/push", method="POST").respond_with_handler(self._push)
        self.server.expect_request("/v2/bot/message/multicast", method="POST").respond_with_handler(self._push)
        self.server.expect_request("/v2/bot/message/reply", method="POST").respond_with_handler(self._reply)
        self.server.expect_request(re.compile(r"^/v2/bot/user/U[0-9a-f]{32}/linkToken$"), method="POST").respond_with_json(
            {"linkToken": "NMZTNuVrPTqlr2IF8Bnymkb7rXfYv5EY"}
        )
        return self

    def issue_token(self, user_id: str | None = None, *, aud: str = CHANNEL_ID, exp_in: int = 600, iss: str = "https://access.line.me") -> tuple[str, str]:
        """A new ID token for ``user_id`` (random if None); returns (token, user_id)."""
        user_id = user_id or "U" + secrets.token_hex(16)
        token = "eyJ." + secrets.token_urlsafe(24)
        now = int(time.time())
        self.tokens[token] = {"iss": iss, "sub": user_id, "aud": aud, "exp": now + exp_in, "iat": now, "amr": ["linesso"]}
        return token, user_id

    def _verify(self, request: Request) -> Response:
        self.verify_calls += 1
        if self.verify_down:
            return Response("{}", status=500, content_type="application/json")
        claims = self.tokens.get(request.form.get("id_token", ""))
        # LINE itself refuses a token for another channel or an expired one with 400.
        if claims is None or request.form.get("client_id") != claims["aud"]:
            return _json({"error": "invalid_request", "error_description": "Invalid IdToken."}, 400)
        if claims["exp"] < time.time():
            return _json({"error": "invalid_request", "error_description": "IdToken expired."}, 400)
        return _json(claims)

    def _reply(self, request: Request) -> Response:
        self.replies.append(json.loads(request.get_data()))
        return _json({})

    def _push(self, request: Request) -> Response:
        retry_key = request.headers.get("X-Line-Retry-Key", "")
        if self.push_responses:
            status, body = self.push_responses.pop(0)
            if status >= 400:
                return _json(body, status)
        if retry_key and retry_key in self.seen_retry_keys:
            return _json({"message": "The retry key is already accepted"}, 409)
        self.seen_retry_keys.add(retry_key)
        self.pushes.append({"path": request.path, "headers": dict(request.headers), "body": json.loads(request.get_data())})
        return _json({"sentMessages": []})


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")
