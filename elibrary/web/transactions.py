"""One database session per request: commit when the view succeeds, roll back otherwise."""
from __future__ import annotations

from flask import Flask, current_app, g, request
from sqlalchemy.orm import Session

from elibrary.runtime import Runtime

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def runtime() -> Runtime:
    """The application's ``Runtime`` (database, backends)."""
    return current_app.extensions["elibrary"]


def own_transactions(view):
    """Mark a view whose writes all run in transactions of their own (an import committed batch by batch):
    its request session only reads, so it never holds SQLite's write lock while the view works."""
    view.own_transactions = True
    return view


def writes(view):
    """Mark a GET view that writes (the school sign-in's callback, which the provider's redirect reaches as a GET):
    like a POST's, its request session takes SQLite's write lock on its first statement. A transaction that
    began by reading cannot start writing on SQLite once another worker has committed ("database is locked"
    at once, whatever the busy timeout), which a class signing in together makes likely."""
    view.writes = True
    return view


def db_session() -> Session:
    """This request's session, opened on first use. Unsafe methods take SQLite's write lock up front."""
    session = g.get("_db_session")
    if session is None:
        view = current_app.view_functions.get(request.endpoint or "")
        writes = (request.method not in SAFE_METHODS or getattr(view, "writes", False)) and not getattr(view, "own_transactions", False)
        session = runtime().db.session(write=writes)
        g._db_session = session
    return session


def rollback_request_session() -> None:
    """Undo this request's changes (called by the error handlers before rendering an error)."""
    session = g.get("_db_session")
    if session is not None:
        session.rollback()
        g._db_session_failed = True


def init_app(app: Flask) -> None:
    """Register the commit and close hooks."""

    @app.after_request
    def commit(response):
        session = g.get("_db_session")
        if session is not None and not g.get("_db_session_failed") and response.status_code < 400:
            session.commit()  # an error here propagates: the client must not see success
        elif session is not None:
            session.rollback()
        return response

    @app.teardown_request
    def close(exc):
        session = g.pop("_db_session", None)
        if session is not None:
            if exc is not None:
                session.rollback()
            session.close()
