"""Japanese (and English) labels for internal codes shown on pages: licence models, staff roles, patron
categories and access-log actions. Staff read 「ワンコピー・ワンユーザー」, not ``one-copy``.

Jinja filters: ``license_model``, ``staff_role``, ``patron_category``, ``audit_action``.
"""
from __future__ import annotations

from flask import Flask

from elibrary.web.i18n import current_locale

LICENSE_MODELS = {
    "one-copy": ("ワンコピー・ワンユーザー", "One copy, one reader"),
    "concurrent": ("同時アクセス（複数冊）", "Concurrent copies"),
    "metered-loans": ("回数制限", "Limited number of loans"),
    "metered-time": ("期限付き", "Limited time"),
    "open": ("無料公開", "Open access"),
}
STAFF_ROLES = {"admin": ("管理者", "Administrator"), "librarian": ("司書", "Librarian"), "teacher": ("教員", "Teacher")}
AUDIT_ACTIONS = {
    "view": ("閲覧", "Viewed"),
    "search": ("検索", "Searched"),
    "export": ("出力", "Exported"),
    "change": ("変更", "Changed"),
    "erase": ("削除", "Erased"),
}


def _code(value) -> str:
    return str(getattr(value, "value", value) or "")


def label(table: dict[str, tuple[str, str]], value, locale: str = "ja") -> str:
    """The label of ``value`` (an enum or a code) in ``locale``; an unknown code is shown as it is."""
    code = _code(value)
    pair = table.get(code)
    if pair is None:
        return code
    return pair[1] if locale == "en" else pair[0]


def patron_category(value, locale: str = "ja") -> str:
    """A patron category's name as the library set it (built-in ones: 一般, 児童・生徒 ...)."""
    from elibrary.lending.policy import DEFAULT_CATEGORIES

    code = _code(value)
    policy = DEFAULT_CATEGORIES.get(code)
    if policy is None:
        try:
            from elibrary.lending.policy import category_policy
            from elibrary.web.transactions import db_session

            policy = category_policy(db_session(), code)
        except RuntimeError:  # outside a request
            return code
        if policy.code != code:
            return code
    return (policy.name_en or policy.code) if locale == "en" else policy.name


def init_app(app: Flask) -> None:
    """Register the label filters."""
    app.jinja_env.filters["license_model"] = lambda v: label(LICENSE_MODELS, v, current_locale())
    app.jinja_env.filters["staff_role"] = lambda v: label(STAFF_ROLES, v, current_locale())
    app.jinja_env.filters["audit_action"] = lambda v: label(AUDIT_ACTIONS, v, current_locale())
    app.jinja_env.filters["patron_category"] = lambda v: patron_category(v, current_locale())
