"""Uploads checked before anything is stored: clamd scans each file when ``ELIBRARY_CLAMD_SOCKET`` is set.

Views call ``scan_uploads(files)`` first thing. A hit is a security event (``upload.malware``, in a
transaction of its own, as the request's is rolled back) and ``MalwareFound``, which the error handlers
show as a clear message on the page the file came from.
"""
from __future__ import annotations

from collections.abc import Iterable

from flask import request
from werkzeug.datastructures import FileStorage

from elibrary.security import events
from elibrary.security.malware import ClamdScanner, MalwareFound
from elibrary.web.transactions import db_session, runtime


def scan_uploads(files: Iterable[FileStorage | None]) -> None:
    """Scan each uploaded file (its stream is rewound afterwards); raise ``MalwareFound`` on the first hit."""
    rt = runtime()
    scanner = ClamdScanner.from_settings(rt.settings)
    if scanner is None:
        return
    for upload in files:
        if upload is None or not upload.filename:
            continue
        stream = upload.stream
        stream.seek(0)
        signature = scanner.scan(stream)
        stream.seek(0)
        if signature is not None:
            events.record_security_event_now(rt.db, "upload.malware", caller=db_session(), actor_kind="staff", staff_id=_staff_id(),
                                             address=request.remote_addr, detail={"signature": signature, "endpoint": request.endpoint or "-"})
            raise MalwareFound(signature=signature)


def _staff_id() -> int | None:
    from elibrary.web.auth import current_staff

    return current_staff.id if current_staff.is_authenticated else None
