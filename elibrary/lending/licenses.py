"""Licences: checking a new licence's terms, and the order licences are spent in (Palace's rule)."""
from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from elibrary.lending import policy
from elibrary.lending.errors import InvalidLicense
from elibrary.lending.models import Hold, HoldState, License, LicenseModel, Loan


def end_of_day(day: date) -> datetime:
    """A licence "until 2027-03-31" lends through that whole day in Japan."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=policy.TOKYO) - timedelta(seconds=1)


def check_terms(model, copies, loans, valid_until, loan_days, now) -> int | None:
    """Refuse terms that could never lend; returns the copies (one-copy defaults to 1)."""

    def refuse(ja: str, en: str, field: str):
        raise InvalidLicense(ja, en, field=field)

    if model == LicenseModel.open:
        if copies is not None or loans is not None:
            refuse("open ライセンスには冊数・回数を指定できません。", "An open licence has no copies or loan count.", "copies")
        copies = None
    else:
        if model == LicenseModel.one_copy and copies is None:
            copies = 1
        if copies is None or copies < 1:
            refuse("同時貸出数は1以上にしてください。", "A licence needs at least one copy.", "copies")
        if model == LicenseModel.one_copy and copies != 1:
            refuse("one-copy ライセンスの冊数は1です。", "A one-copy licence has exactly one copy.", "copies")
        if model == LicenseModel.metered_loans and loans is None:
            refuse("metered-loans には貸出回数(--loans)が必要です。", "A metered-loans licence needs a loan count (--loans).", "loans")
        if model == LicenseModel.metered_time and valid_until is None:
            refuse("metered-time には期限(--until)が必要です。", "A metered-time licence needs an end date (--until).", "until")
    if loans is not None and loans < 1:
        refuse("貸出回数は1以上にしてください。", "The loan count must be at least 1.", "loans")
    if valid_until is not None and valid_until <= now:
        refuse("期限が過去の日付です。", "The end date is in the past.", "until")
    if loan_days is not None and not 1 <= loan_days <= 365:
        refuse("貸出期間は1〜365日にしてください。", "The loan period must be 1 to 365 days.", "loan_days")
    return copies


def licenses_of(session: Session, title_id: int) -> list[License]:
    """A title's licences, best to spend first (open, then soonest expiry, then fewest loans left)."""
    rows = session.scalars(select(License).where(License.title_id == title_id)).all()
    return sorted(rows, key=spending_order)


def spending_order(license: License):
    """Palace's rule: use the licence that would be wasted first."""
    far = datetime.max.replace(tzinfo=policy.TOKYO)
    return (
        not license.is_open,
        license.valid_until or far,
        license.loans_remaining if license.loans_remaining is not None else math.inf,
        license.id,
    )


def license_usage(session: Session, title_id: int) -> list[tuple[License, int, int]]:
    """The title's licences, best to spend first, each with its loans and ready reservations (one query)."""
    on_loan = select(func.count()).select_from(Loan).where(Loan.license_id == License.id).scalar_subquery()
    reserved = select(func.count()).select_from(Hold).where(Hold.license_id == License.id, Hold.state == HoldState.ready).scalar_subquery()
    rows = session.execute(select(License, on_loan, reserved).where(License.title_id == title_id)).all()
    return sorted(((lic, n, r) for lic, n, r in rows), key=lambda row: spending_order(row[0]))
