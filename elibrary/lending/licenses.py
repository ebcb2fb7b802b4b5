"""Licences: checking a new licence's terms, the order licences are spent in (Palace's rule), and what a
title's licences have free."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import Integer, and_, bindparam, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from elibrary.lending import policy
from elibrary.lending.errors import InvalidLicense
from elibrary.lending.models import Hold, HoldState, License, LicenseModel, LicenseTerms, Loan


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


def spending_order(license: License | LicenseTerms):
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


# --- the borrow decision's reads, in one statement -------------------------------------------------

_licenses, _loans, _holds = License.__table__, Loan.__table__, Hold.__table__
_reserving = _holds.alias("reserving")


def usage_columns(reserving) -> tuple:
    """A licence's terms and its use, in the order ``LicenseTerms`` and its counts are read: the licence's columns, its
    loans (``on_loan``) and the copies kept for ready holds (``reserved``, counted in ``reserving``: the holds table or
    an alias of it when the query joins holds for another purpose)."""
    return (
        _licenses.c.id,
        _licenses.c.model,
        _licenses.c.copies,
        _licenses.c.loans_remaining,
        _licenses.c.valid_until,
        _licenses.c.max_loan_days,
        select(func.count()).select_from(_loans).where(_loans.c.license_id == _licenses.c.id).scalar_subquery().label("on_loan"),
        select(func.count())
        .select_from(reserving)
        .where(reserving.c.license_id == _licenses.c.id, reserving.c.state == HoldState.ready)
        .scalar_subquery()
        .label("reserved"),
    )


_PATRON, _TITLE = bindparam("patron_id", type_=Integer), bindparam("title_id", type_=Integer)
_MINE = select(
    select(_loans.c.id).where(_loans.c.patron_id == _PATRON, _loans.c.title_id == _TITLE).scalar_subquery().label("this_loan"),
    select(func.count()).select_from(_loans).where(_loans.c.patron_id == _PATRON).scalar_subquery().label("loan_count"),
).subquery("mine")
_BORROW_STATE = select(
    _MINE.c.this_loan,
    _MINE.c.loan_count,
    _holds.c.id.label("hold_id"),
    _holds.c.state.label("hold_state"),
    _holds.c.license_id.label("hold_license_id"),
    *usage_columns(_reserving),
).select_from(
    _MINE.outerjoin(_holds, and_(_holds.c.patron_id == _PATRON, _holds.c.title_id == _TITLE)).outerjoin(_licenses, _licenses.c.title_id == _TITLE)
)


def usage_after_loan(usage: list[tuple[LicenseTerms, int, int]], license_id: int, released_license_id: int | None) -> list[tuple[LicenseTerms, int, int]]:
    """A title's licences with their use once a loan on ``license_id`` is written: one more loan on it (a metered licence
    spends one), and the copy a ready hold kept on ``released_license_id`` no longer kept (the hold ends with the loan)."""
    after = []
    for terms, on_loan, reserved in usage:
        if terms.id == license_id:
            on_loan += 1
            if terms.loans_remaining is not None:
                terms = replace(terms, loans_remaining=terms.loans_remaining - 1)
        if terms.id == released_license_id:
            reserved -= 1
        after.append((terms, on_loan, reserved))
    return after


@dataclass(frozen=True)
class BorrowState:
    """Everything ``borrow`` decides on, read after the patron and title locks are held."""

    this_loan: int | None  # the patron's loan of this title
    loan_count: int  # the patron's loans
    hold_id: int | None  # the patron's hold on this title
    hold_state: HoldState | None
    hold_license_id: int | None  # the copy reserved for a ready hold
    usage: list[tuple[LicenseTerms, int, int]]  # licences best to spend first, with loans and ready reservations


def borrow_state(connection: Connection, patron_id: int, title_id: int) -> BorrowState:
    """The patron's loan, loan count and hold for the title, and its licences' usage (one round trip).

    The query joins the patron's own figures (one row) to the title's licences, so each licence row repeats
    them; a title without licences still gives that one row.
    """
    rows = connection.execute(_BORROW_STATE, {"patron_id": patron_id, "title_id": title_id}).all()
    first = rows[0]
    usage = [
        (LicenseTerms(r.id, r.model, r.copies, r.loans_remaining, r.valid_until, r.max_loan_days), r.on_loan, r.reserved)
        for r in rows
        if r.id is not None
    ]
    usage.sort(key=lambda row: spending_order(row[0]))
    return BorrowState(first.this_loan, first.loan_count, first.hold_id, first.hold_state, first.hold_license_id, usage)
