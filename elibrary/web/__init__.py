"""Flask glue: the request transaction, errors, sign-in, locale and health (the wings' blueprints: ``elibrary.wiring``)."""
from __future__ import annotations

from flask import Flask


def register_web(app: Flask) -> None:
    """Attach every web concern to ``app`` (the wings' views are registered by ``elibrary.wiring.register_views``)."""
    from elibrary.web import accesslog, auth, errors, formatting, headers, health, hosts, i18n, labels, requestid, safety, transactions, usage, walls

    accesslog.scrub_werkzeug_log()

    requestid.init_app(app)  # first: every log line of the request carries its id
    headers.init_app(app)  # first registered, so its after_request hook runs last
    hosts.wrap(app, app.config)
    transactions.init_app(app)
    walls.init_app(app)  # staff pages outside the allowed networks are refused before any other work
    safety.init_app(app)
    i18n.init_app(app)
    formatting.init_app(app)
    labels.init_app(app)
    auth.init_app(app)
    errors.register_error_handlers(app)
    usage.init_app(app)
    app.register_blueprint(health.bp)
