"""Licences coming in, and the holds they serve: ``add_license`` (a licence bought, by staff or by receiving an
order in selection) and ``promote_holds`` (free copies given to waiting holds in queue order).

A shared piece of lending that other wings may use (as ``grants``), so that selection's receiving never
imports the patron-facing ``services``; ``services`` re-exports both.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.db import utcnow
from elibrary.errors import NotFound
from elibrary.lending import licenses, locks, notices, policy
from elibrary.lending.availability import copies_free
from elibrary.lending.errors import InvalidLicense
from elibrary.lending.models import Hold, HoldState, License, LicenseModel
from elibrary.patrons.models import Patron
from elibrary.security.crypto import DataCipher


def add_license(
    session: Session,
    title_id: int,
    model: str | LicenseModel,
    *,
    copies: int | None = None,
    loans: int | None = None,
    until: date | datetime | None = None,
    loan_days: int | None = None,
    drm_free_download: bool = False,
    classroom_display: bool = False,
    text_search: bool | None = None,
    note: str = "",
    now: datetime | None = None,
    cipher: DataCipher | None = None,
) -> License:
    """Add a licence bought for a title; waiting holds are served at once from its copies."""
    now = now or utcnow()
    try:
        model = LicenseModel(model)
    except ValueError:
        raise InvalidLicense(
            "ライセンスの種類は one-copy, concurrent, metered-loans, metered-time, open のいずれかです。",
            "The model must be one of one-copy, concurrent, metered-loans, metered-time, open.",
            field="model",
        ) from None
    title = locks.lock_title(session, title_id)
    if title is None:
        raise NotFound("本が見つかりません。", "No such title.")
    valid_until = licenses.end_of_day(until) if isinstance(until, date) and not isinstance(until, datetime) else until
    copies = licenses.check_terms(model, copies, loans, valid_until, loan_days, now)
    license = License(
        title_id=title.id,
        model=model,
        copies=copies,
        loans_total=loans,
        loans_remaining=loans,
        valid_until=valid_until,
        max_loan_days=loan_days,
        drm_free_download=drm_free_download or model == LicenseModel.open,
        classroom_display=classroom_display,
        text_search=text_search,  # 本文検索; None: the default (on for open licences)
        note=note[:200],
    )
    session.add(license)
    session.flush()
    promote_holds(session, title.id, now, cipher)
    return license


def promote_holds(session: Session, title_id: int, now: datetime, cipher: DataCipher | None = None) -> list[Hold]:
    """Give free copies to waiting holds in queue order (the caller holds the title lock)."""
    holds = session.scalars(
        select(Hold).where(Hold.title_id == title_id, Hold.state.in_([HoldState.waiting, HoldState.ready])).order_by(Hold.queue_seq)
    ).all()
    if not holds:
        return []
    usage = licenses.license_usage(session, title_id)
    lending = [lic for lic, _, _ in usage if lic.stop_reason(now) is None]
    lending_ids = {lic.id for lic in lending}
    on_loan = {lic.id: n for lic, n, _ in usage}
    reserved = {lic.id: 0 for lic, _, _ in usage}
    for hold in holds:
        if hold.state != HoldState.ready:
            continue
        if hold.license_id in lending_ids:
            reserved[hold.license_id] += 1
        else:  # its licence stopped lending: the hold loses the reservation but keeps its place
            hold.state, hold.license_id, hold.ready_until = HoldState.waiting, None, None
    free = {lic.id: copies_free(lic, on_loan[lic.id], reserved[lic.id]) for lic in lending}
    promoted = []
    for hold in holds:
        if hold.state != HoldState.waiting:
            continue
        license = next((lic for lic in lending if free[lic.id] is None or free[lic.id] > 0), None)
        if license is None:
            break
        if free[license.id] is not None:
            free[license.id] -= 1
        patron = session.get(Patron, hold.patron_id)
        rules = policy.category_policy(session, patron.category if patron else "citizen")
        hold.state = HoldState.ready
        hold.license_id = license.id
        hold.ready_until = now + timedelta(days=rules.hold_ready_days)
        hold.notified_at = None
        promoted.append(hold)
    session.flush()
    if cipher is not None:
        for hold in promoted:
            notices.hold_ready(session, cipher, hold, now)
    return promoted


def set_text_search(session: Session, title_id: int, license_id: int, value: bool | None) -> License:
    """Change whether a licence lets the book's text be searched (本文検索); None restores the default (on for open)."""
    license = session.get(License, license_id)
    if license is None or license.title_id != title_id:
        raise NotFound("ライセンスが見つかりません。", "No such licence.")
    license.text_search = value
    session.flush()  # the title is queued for the indexes that follow the change log
    return license
