"""Structured logs: one JSON object per line, with the request id of the request (or job) that wrote it.

``configure_logging(settings)`` sends the root logger (the app, werkzeug, gunicorn's error log, the jobs)
to ``ELIBRARY_LOG_FILE`` (a ``WatchedFileHandler``, so logrotate may move the file) or to stderr, as JSON
lines (``ELIBRARY_LOG_FORMAT = "json"``) or plain text. Every line carries ``request_id``: the id of the
web request (``X-Request-ID`` from a trusted proxy, or generated; ``elibrary.web.requestid``) or of the job
pass (``with request_context("job-...")``). Fields given with ``extra={"event": ..., ...}`` become keys of
the JSON object.

What must never be logged (card numbers, PINs, passwords, tokens, names, what someone read) is kept out
by the callers; ``tests/monitoring/test_log_canaries.py`` drives sign-ins, OPDS, registration and loans
with planted values and greps every log for them.
"""
from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import logging.handlers
import secrets
import sys
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("elibrary_request_id", default=None)

# Attributes every LogRecord has: everything else on a record came from ``extra=`` and is written out.
_STANDARD = set(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {"message", "asctime", "request_id"}
HANDLER_NAME = "elibrary-structured"


def new_request_id() -> str:
    """A fresh random request id (16 hex characters)."""
    return secrets.token_hex(8)


def current_request_id() -> str | None:
    """The id of the request or job pass this code runs in, if any."""
    return _request_id.get()


def set_request_id(value: str | None) -> contextvars.Token:
    """Make ``value`` the current request id; returns the token for ``reset_request_id``."""
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token) -> None:
    """Restore the request id that was current before ``set_request_id``."""
    _request_id.reset(token)


@contextlib.contextmanager
def request_context(request_id: str | None = None) -> Iterator[str]:
    """Run a block (a job pass, a CLI command) under a request id of its own."""
    value = request_id or new_request_id()
    token = _request_id.set(value)
    try:
        yield value
    finally:
        _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (``-`` outside requests and jobs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = _request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, request id, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or _request_id.get() or "-",
            "process": record.process,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                document[key] = value
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def make_handler(settings: Mapping[str, Any]) -> logging.Handler:
    """The handler the settings ask for (file or stderr, JSON or text), with the request id filter."""
    path = settings.get("ELIBRARY_LOG_FILE")
    handler: logging.Handler = logging.handlers.WatchedFileHandler(path, encoding="utf-8") if path else logging.StreamHandler(sys.stderr)
    handler.set_name(HANDLER_NAME)
    fmt = str(settings.get("ELIBRARY_LOG_FORMAT") or "json").lower()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RequestIdFilter())
    return handler


def configure_logging(settings: Mapping[str, Any]) -> None:
    """Install the structured handler on the root logger once per process (tests without a log file: never)."""
    if settings.get("TESTING") and not settings.get("ELIBRARY_LOG_FILE"):
        return  # pytest's own capture stays in charge
    root = logging.getLogger()
    if any(h.get_name() == HANDLER_NAME for h in root.handlers):
        return
    root.addHandler(make_handler(settings))
    root.setLevel(str(settings.get("ELIBRARY_LOG_LEVEL") or "INFO").upper())
