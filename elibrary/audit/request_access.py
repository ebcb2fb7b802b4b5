"""The access of the signed-in staff member in this request, for the access log: used by every wing's staff views."""
from __future__ import annotations

from flask import request

from elibrary.audit import services
from elibrary.web.auth import current_staff


def staff_access(action: str, *, subject: str = "", patron_id: int | None = None, fields=(), detail: str = "") -> services.Access:
    """An ``Access`` by the signed-in staff member from this request's address."""
    return services.Access(
        staff_id=current_staff.id,
        staff_email=current_staff.email,
        address=request.remote_addr,
        action=action,
        subject=subject,
        patron_id=patron_id,
        fields=tuple(fields),
        detail=detail,
    )
