"""flask-login wiring: patrons and staff share one login manager, told apart by an id prefix.

Every sign-in is also a server-side record (``elibrary.security.sessions``) whose token travels in the
signed cookie: ``sign_in_user`` / ``sign_out_user`` / ``sign_out_everywhere`` are the only way views
sign people in and out, so sign-out, "sign out everywhere", a PIN or password change and staff
deactivation end copied cookies too.
"""
from __future__ import annotations

from functools import wraps

from flask import Flask, abort, g, session
from flask_login import AnonymousUserMixin, LoginManager, current_user, login_user, logout_user
from sqlalchemy import select
from werkzeug.local import LocalProxy

from elibrary.patrons.models import Patron
from elibrary.security import sessions
from elibrary.staff.models import StaffUser
from elibrary.web.safety import rotate_csrf_token
from elibrary.web.transactions import db_session, runtime

SESSION_TOKEN = "_sid"
_NOBODY = AnonymousUserMixin()


def _identities() -> dict:
    """Who this request acts as, by kind: ``{"patron": Patron, "staff": StaffUser}`` (either may be missing).

    The signed-in user (flask-login's ``current_user``) is one of them. A teacher whose staff account is linked to
    their teacher-category patron account (``StaffUser.patron_id``) carries the other as well, whichever one they
    signed in with: one session record, so one sign-out ends both. The link is read on each request, so an
    admin's unlink takes effect at once; the linked account must be active, and only teacher staff accounts and
    teacher-category patrons are ever linked (checked again here, not only when the link is made).
    """
    user = current_user._get_current_object() if current_user else None
    cached = g.get("_elibrary_identities")
    if cached is not None and cached[0] is user:  # kept per signed-in user: a sign-in or sign-out starts afresh
        return cached[1]
    found: dict = {}
    if user is not None and user.is_authenticated:
        if isinstance(user, StaffUser):
            found["staff"] = user
            if user.patron_id is not None and user.role.value == "teacher":
                patron = db_session().get(Patron, user.patron_id)
                if patron is not None and patron.is_active and patron.category == "teacher":
                    found["patron"] = patron
        else:
            found["patron"] = user
            if user.category == "teacher":  # only teachers are ever linked: no query for anyone else
                staff = db_session().scalar(select(StaffUser).where(StaffUser.patron_id == user.id))
                if staff is not None and staff.is_active and staff.role.value == "teacher":
                    found["staff"] = staff
    g._elibrary_identities = (user, found)
    return found


#: The patron this request borrows as (a signed-in patron, or a teacher's linked patron account); anonymous otherwise.
current_patron = LocalProxy(lambda: _identities().get("patron", _NOBODY))
#: The staff member this request acts as (signed-in staff, or a teacher's linked staff account); anonymous otherwise.
current_staff = LocalProxy(lambda: _identities().get("staff", _NOBODY))


def sign_in_user(user, *, fresh: bool = True) -> None:
    """Sign ``user`` in on this browser: a new session record, a new CSRF token, the flask-login cookie."""
    sessions.end(db_session(), session.get(SESSION_TOKEN))  # a sign-in over another ends that one
    days = int(runtime().settings.get("ELIBRARY_SESSION_DAYS") or sessions.DEFAULT_DAYS)
    token = sessions.start(db_session(), sessions.subject_of(user), days=days)
    rotate_csrf_token()
    login_user(user, fresh=fresh)
    session[SESSION_TOKEN] = token
    g.pop("_elibrary_identities", None)


def sign_out_user() -> None:
    """Sign out of this browser: its record goes, so a copy of the cookie stops working too."""
    sessions.end(db_session(), session.pop(SESSION_TOKEN, None))
    logout_user()
    rotate_csrf_token()
    g.pop("_elibrary_identities", None)


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
    # Templates ask "may this browser borrow?" and "may it reach staff pages?" separately: a teacher may do both.
    app.context_processor(lambda: {"current_patron": current_patron, "current_staff": current_staff})
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
    """Only a signed-in patron, or staff carrying a linked patron account (a teacher); staff alone get 403."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        from flask import current_app

        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if not current_patron.is_authenticated:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def staff_required(*roles: str):
    """Only signed-in staff (or a teacher's patron sign-in carrying their linked staff account), optionally with one of ``roles``."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            from flask import redirect, request, url_for

            if not current_staff.is_authenticated:
                return redirect(url_for("staff.login", next=request.full_path))
            if roles and current_staff.role.value not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator
