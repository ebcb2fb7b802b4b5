"""The request id: taken from a trusted proxy's ``X-Request-ID`` or generated, logged, and sent back.

With ``ELIBRARY_TRUSTED_PROXIES`` > 0 the reverse proxy in front (deploy/nginx: ``proxy_set_header
X-Request-ID $request_id``) sets the header and overwrites whatever a client sent, so its id ties nginx's
log to ours; without a trusted proxy a client's header is ignored (it could fill our logs with anything).
Every log line of the request carries the id (``elibrary.logs``), and the response returns it in
``X-Request-ID`` so a citizen's screenshot of an error page can be found in the logs.
"""
from __future__ import annotations

import re

from flask import Flask, g, request
from flask.typing import ResponseReturnValue

from elibrary import logs

HEADER = "X-Request-ID"
ACCEPTED = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def incoming_id(header: str | None, trusted_proxies: int) -> str:
    """The proxy's id when a trusted proxy is in front and the value is plain, else a new one."""
    if trusted_proxies > 0 and header and ACCEPTED.match(header):
        return header
    return logs.new_request_id()


def init_app(app: Flask) -> None:
    """Set the id before each request, reset it after, and return it in the response."""
    trusted = int(app.config.get("ELIBRARY_TRUSTED_PROXIES") or 0)

    @app.before_request
    def start_request_id() -> None:
        g.request_id = incoming_id(request.headers.get(HEADER), trusted)
        g.request_id_token = logs.set_request_id(g.request_id)

    @app.after_request
    def send_request_id(response: ResponseReturnValue):
        if getattr(g, "request_id", None):
            response.headers[HEADER] = g.request_id
        return response

    @app.teardown_request
    def end_request_id(_exc: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            try:
                logs.reset_request_id(token)
            except ValueError:  # reset from another context (a streamed response): just clear it
                logs.set_request_id(None)
