"""gunicorn's access log without personal data: ``--logger-class elibrary.web.accesslog.AccessLogger``.

gunicorn's default format writes the HTTP Basic user (``%(u)s``): for an OPDS app that is the card
number, on every line, next to the title it opened: a reading record in a log file. This logger
blanks the user whatever the format says, drops the ``Authorization`` and ``Cookie`` headers from the
atoms a custom format could name, leaves out query strings (search words) and masks the one-time
tokens that travel in paths (registration confirmation). ``ACCESS_LOG_FORMAT`` is the format the
Makefile and the README use; it names none of those either. The development server's request log
(werkzeug) gets the same treatment through ``scrub_werkzeug_log``.
"""
from __future__ import annotations

import logging
import re

from gunicorn.glogging import Logger

ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'
SECRET_IN_PATH = re.compile(r"(/register/confirm/)[^/?#\s]+")
HIDDEN = ("authorization", "cookie")


def redact_path(path: str | None) -> str:
    """``path`` with one-time tokens replaced by ``***`` (and no query string)."""
    if not path:
        return "-"
    return SECRET_IN_PATH.sub(r"\1***", path.split("?", 1)[0])


class AccessLogger(Logger):
    """gunicorn's logger with the atoms that could carry a card number, PIN, token or search removed."""

    def atoms(self, resp, req, environ, request_time):
        """gunicorn's atoms, scrubbed."""
        atoms = super().atoms(resp, req, environ, request_time)
        for key in [k for k in atoms if any(word in k for word in HIDDEN)]:
            del atoms[key]
        atoms["u"] = "-"
        atoms["q"] = ""
        atoms["U"] = redact_path(atoms.get("U"))
        atoms["f"] = redact_path(atoms.get("f"))
        atoms["r"] = f"{atoms.get('m')} {atoms['U']} {atoms.get('H')}"
        return atoms


class _ScrubRequestLines(logging.Filter):
    """Drops query strings and path tokens from werkzeug's request lines (the development server)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(scrub_text(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def scrub_text(text: str) -> str:
    """``text`` with query strings and one-time path tokens removed."""
    return SECRET_IN_PATH.sub(r"\1***", re.sub(r"\?[^\s\"]*", "", text))


def scrub_werkzeug_log() -> None:
    """Install the filter on werkzeug's logger once per process."""
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, _ScrubRequestLines) for f in logger.filters):
        logger.addFilter(_ScrubRequestLines())
