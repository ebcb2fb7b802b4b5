"""Flask glue: the request transaction, errors, sign-in, locale, and blueprint registration."""
from __future__ import annotations

from flask import Flask


def register_web(app: Flask) -> None:
    """Attach every web concern and blueprint to ``app``."""
    from elibrary.web import auth, errors, health, i18n, safety, transactions

    transactions.init_app(app)
    safety.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    errors.register_error_handlers(app)
    app.register_blueprint(health.bp)
    # Each worker follows the shared change log from its first request on (changes made on other servers).
    app.before_request(app.extensions["elibrary"].indexer.start_following)
    for register in _blueprint_registrars():
        register(app)


def _blueprint_registrars():
    """Each domain exposes ``init_app(app)`` that registers its blueprints; listed here in one place."""
    from catalog_import import views as import_views
    from elibrary.catalog import views as catalog_views
    from elibrary.lending import views as lending_views
    from elibrary.opds import views as opds_views
    from elibrary.audit import views as audit_views
    from elibrary.patrons import registration_views
    from elibrary.patrons import views as patron_views
    from elibrary.staff import views as staff_views
    from readers import views as reader_views

    return [opds_views.init_app, catalog_views.init_app, patron_views.init_app, staff_views.init_app, registration_views.init_app, audit_views.init_app, reader_views.init_app, lending_views.init_app, import_views.init_app]
