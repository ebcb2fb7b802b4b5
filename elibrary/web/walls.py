"""Staff pages behind the city's walls: allowed networks only, and HTTPS only in production.

``ELIBRARY_STAFF_NETWORKS`` lists the networks staff pages answer (the library's and the city hall's, e.g.
``"192.0.2.0/24, 198.51.100.0/24"``); empty means everywhere. ``ELIBRARY_STAFF_HTTPS_ONLY`` (default: on
in production) refuses staff pages over plain HTTP. Staff pages are every path under ``/staff`` and
``/admin`` (sign-in included: a password typed outside the walls is refused before it is checked). The
public site, OPDS, the readers, ``/healthz`` and ``/metrics`` (which has its own allow list) are not
behind the walls. A refusal is a plain page in Japanese and English (403) and a security event.

The client address is the one werkzeug's ``ProxyFix`` took from ``ELIBRARY_TRUSTED_PROXIES`` hops, so a
client cannot claim an inside address through ``X-Forwarded-For`` past our own proxy.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, g, render_template, request

from elibrary.security import events
from elibrary.security.throttle import address_in, parse_networks
from elibrary.web.transactions import db_session, runtime

STAFF_PREFIXES = ("/staff", "/admin")


def is_staff_path(path: str) -> bool:
    """Whether ``path`` is a staff page."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in STAFF_PREFIXES)


def address_allowed(address: str | None, networks: tuple) -> bool:
    """Whether ``address`` is inside one of ``networks`` (no networks: everywhere)."""
    return not networks or address_in(address, networks)


def https_only(settings: Mapping[str, Any]) -> bool:
    """``ELIBRARY_STAFF_HTTPS_ONLY``; unset: on in production, off elsewhere."""
    value = settings.get("ELIBRARY_STAFF_HTTPS_ONLY")
    if value is None:
        return settings.get("ELIBRARY_ENV") == "production"
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def init_app(app: Flask) -> None:
    """Refuse staff pages outside the walls (before anything else looks at the request)."""
    networks = parse_networks(app.config.get("ELIBRARY_STAFF_NETWORKS"), "ELIBRARY_STAFF_NETWORKS")
    need_https = https_only(app.config)
    if not networks and not need_https:
        return

    @app.before_request
    def staff_walls():
        if not is_staff_path(request.path):
            return None
        reason = None
        if not address_allowed(request.remote_addr, networks):
            reason = "network"
        elif need_https and request.scheme != "https":
            reason = "https"
        if reason is None:
            return None
        g.walls_refused = True  # one event, not a second "permission refused" for the same 403
        events.record_security_event_now(runtime().db, "network.refused", caller=db_session(), address=request.remote_addr,
                                         detail={"reason": reason, "path": request.path[:80]})
        return render_template("staff_walls.html", reason=reason), 403
