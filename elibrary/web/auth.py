"""flask-login wiring: patrons and staff share one login manager, told apart by an id prefix."""
from __future__ import annotations

from functools import wraps

from flask import Flask, abort
from flask_login import LoginManager, current_user

from elibrary.patrons.models import Patron
from elibrary.staff.models import StaffUser
from elibrary.web.transactions import db_session


def init_app(app: Flask) -> None:
    """Create the login manager; anonymous users are sent to the patron sign-in page."""
    manager = LoginManager(app)
    manager.login_view = "patrons.login"
    manager.login_message = None
    manager.session_protection = "strong"

    @manager.user_loader
    def load_user(user_id: str):
        kind, _, raw = user_id.partition(":")
        if not raw.isdigit():
            return None
        model = {"p": Patron, "s": StaffUser}.get(kind)
        user = db_session().get(model, int(raw)) if model else None
        if user is None or not user.is_active:
            return None
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
