"""gunicorn's access log without personal data: ``--logger-class elibrary.web.accesslog.AccessLogger``.

gunicorn's default format writes the HTTP Basic user (``%(u)s``): for an OPDS app that is the card
number, on every line, next to the title it opened: a reading record in a log file. This logger
blanks the user whatever the format says, drops the ``Authorization`` and ``Cookie`` headers from the
atoms a custom format could name, leaves out query strings (search words) and masks the one-time
tokens that travel in paths (registration confirmation). ``ACCESS_LOG_FORMAT`` is the format the
Makefile and the README use; it names none of those either.
"""
from __future__ import annotations

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
