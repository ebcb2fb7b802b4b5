"""Visits counted in aggregate: a visitor is an HMAC of address, browser and language under the day's salt,
held in memory and written once a minute (``usage.counters``); nothing is sent to any third party.

Staff pages, feeds, static files, covers and health checks are not visits; ``/read/`` is the readers' area.
"""
from __future__ import annotations

from flask import Flask, current_app, request

SKIPPED = ("/static/", "/covers/", "/healthz", "/metrics", "/staff", "/opds", "/favicon")


def _usage():
    return current_app.extensions["elibrary"].usage


def count_visit() -> None:
    """Before a page request: note its visitor (once a day per area)."""
    if request.method != "GET" or request.path.startswith(SKIPPED) or getattr(request, "_usage_counted", False):
        return
    usage = _usage()
    if usage is None:
        return
    area = "reader" if request.path.startswith("/read/") else "site"
    identity = "|".join((request.remote_addr or "", request.headers.get("User-Agent", ""), request.headers.get("Accept-Language", "")))
    usage.record_visit(area, identity)


def flush_when_due(response):
    """After the response is sent: write the counts of this worker if a minute has passed."""
    usage = _usage()
    if usage is not None and usage.flush_due():
        response.call_on_close(usage.flush)
    return response


def init_app(app: Flask) -> None:
    """Count visits on every page request and flush the counts after responses."""
    app.before_request(count_visit)
    app.after_request(flush_when_due)
