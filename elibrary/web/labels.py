"""Japanese (and English) labels for internal codes shown on pages: licence models, staff roles
and access-log actions. Staff read 「ワンコピー・ワンユーザー」, not ``one-copy``.

Jinja filters: ``license_model``, ``staff_role``, ``audit_action``. Patron categories are the library's own
(staff edit them), so the lending wing registers ``patron_category`` beside its policy.
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


def init_app(app: Flask) -> None:
    """Register the label filters."""
    app.jinja_env.filters["license_model"] = lambda v: label(LICENSE_MODELS, v, current_locale())
    app.jinja_env.filters["staff_role"] = lambda v: label(STAFF_ROLES, v, current_locale())
    app.jinja_env.filters["audit_action"] = lambda v: label(AUDIT_ACTIONS, v, current_locale())
