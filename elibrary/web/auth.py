"""flask-login wiring: patrons and staff share one login manager, told apart by an id prefix.

Every sign-in is also a server-side record (``elibrary.security.sessions``) whose token travels in the
signed cookie: ``sign_in_user`` / ``sign_out_user`` / ``sign_out_everywhere`` are the only way views
sign people in and out, so sign-out, "sign out everywhere", a PIN or password change and staff
deactivation end copied cookies too.
"""
from __future__ import annotations

from functools import wraps

from flask import Flask, abort, session
from flask_login import LoginManager, current_user, login_user, logout_user

from elibrary.patrons.models import Patron
from elibrary.security import sessions
from elibrary.staff.models import StaffUser
from elibrary.web.safety import rotate_csrf_token
from elibrary.web.transactions import db_session, runtime

SESSION_TOKEN = "_sid"


def sign_in_user(user, *, fresh: bool = True) -> None:
    """Sign ``user`` in on this browser: a new session record, a new CSRF token, the flask-login cookie."""
    sessions.end(db_session(), session.get(SESSION_TOKEN))  # a sign-in over another ends that one
    days = int(runtime().settings.get("ELIBRARY_SESSION_DAYS") or sessions.DEFAULT_DAYS)
    token = sessions.start(db_session(), sessions.subject_of(user), days=days)
    rotate_csrf_token()
    login_user(user, fresh=fresh)
    session[SESSION_TOKEN] = token


def sign_out_user() -> None:
    """Sign out of this browser: its record goes, so a copy of the cookie stops working too."""
    sessions.end(db_session(), session.pop(SESSION_TOKEN, None))
    logout_user()
    rotate_csrf_token()


def sign_out_everywhere() -> int:
    """End every sign-in of the current user (all browsers and devices), this one included."""
    ended = sessions.end_all(db_session(), sessions.subject_of(current_user))
    sign_out_user()
    return ended


def current_session_token() -> str | None:
    """The session token of this browser (to keep it when ending the user's other sessions)."""
    return session.get(SESSION_TOKEN)


def init_app(app: Flask) -> None:
    """Create the login manager; anonymous users are sent to the patron sign-in page."""
    manager = LoginManager(app)
    manager.login_view = "patrons.login"
    manager.login_message = None
    # No flask-login session protection: "strong" signed a patron out whenever their address changed (a tablet
    # moving from Wi-Fi to mobile data). Safety rests on the server-side session record instead: each sign-in
    # is a row that sign-out, "sign out everywhere", a PIN change or staff deactivation end for every copy.
    manager.session_protection = None

    @manager.user_loader
    def load_user(user_id: str):
        kind, _, raw = user_id.partition(":")
        if not raw.isdigit():
            return None
        model = {"p": Patron, "s": StaffUser}.get(kind)
        user = db_session().get(model, int(raw)) if model else None
        if user is None or not user.is_active:
            return None
        if not sessions.is_current(db_session(), user_id, session.get(SESSION_TOKEN)):
            return None  # signed out elsewhere, PIN/password changed, disabled, or expired
        return user


def patron_required(view):
    """Only a signed-in patron (not staff, not anonymous)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        from flask import current_app

        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if current_user.is_staff:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def staff_required(*roles: str):
    """Only signed-in staff, optionally with one of ``roles``."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            from flask import redirect, request, url_for

            if not current_user.is_authenticated or not current_user.is_staff:
                return redirect(url_for("staff.login", next=request.full_path))
            if roles and current_user.role.value not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator
