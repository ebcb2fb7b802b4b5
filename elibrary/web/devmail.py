"""``/dev/mail``: what the development notifier would have sent (``ELIBRARY_NOTIFIER = "dev"``), newest first.

Only there when the dev notifier is in use (it cannot be in production: the app refuses to start), so a
newcomer can open a registration's confirmation link from the demo without a mail server.
"""
from __future__ import annotations

import re

from flask import Blueprint, Flask, abort, render_template
from markupsafe import Markup, escape

from elibrary.notify.devmail import DevMailbox
from elibrary.web.transactions import runtime

bp = Blueprint("devmail", __name__)
_URL = re.compile(r"https?://[^\s<>\"']+")


def mailbox() -> DevMailbox | None:
    """The runtime's development mailbox (directly, or as the LINE notifier's e-mail), else None."""
    rt = runtime()
    if rt.settings.get("ELIBRARY_ENV") == "production":
        return None
    notifier = rt.notifier
    for candidate in (notifier, getattr(notifier, "email", None)):
        if isinstance(candidate, DevMailbox):
            return candidate
    return None


def linked(text: str) -> Markup:
    """The text escaped, with its web addresses as links (a confirmation link can be opened)."""
    out, last = [], 0
    for match in _URL.finditer(text):
        out.append(escape(text[last:match.start()]))
        out.append(Markup('<a href="{0}">{0}</a>').format(match.group(0)))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


@bp.get("/dev/mail")
def mail():
    """The kept messages (404 unless the development notifier is in use)."""
    box = mailbox()
    if box is None:
        abort(404)
    return render_template("dev/mail.html", messages=box.messages())


def init_app(app: Flask) -> None:
    """Register ``/dev/mail`` and the ``linked`` filter."""
    app.register_blueprint(bp)
    app.jinja_env.filters["linked"] = linked
    app.jinja_env.globals["dev_mail_enabled"] = lambda: mailbox() is not None
