"""Loans written and ended with Core SQL: the statements behind ``borrow`` and ``return_loan``.

``services`` decides under the locks; this module writes the decision. On PostgreSQL all the rows of one
decision (the loan, the hold it came from, the metered licence's count, the statistics event, the
search-queue entry or the title's availability in a search index kept in the database, and the rows other
domains end with a loan) are written by one statement with data-modifying ``WITH`` clauses, so a decision
costs one round trip; other engines (SQLite) run the same writes one statement each, through the public
functions of ``history`` and ``catalog.indexing``. Objects the session already holds are kept in step:
a deleted row leaves the session and a changed licence is expired, so ORM callers never see stale rows.

Parts from other domains (the search index's ``availability_statement``, the ``LOAN_END`` hooks' statements)
are built once by their owners; the statement carrying them is composed once per set of parts (``_carrying``),
so that every call runs one prepared statement.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Integer, bindparam, delete, exists, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql import Select
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import ScalarSelect

from elibrary.catalog import indexing
from elibrary.catalog.models import SearchQueueEntry, Title
from elibrary.db import hooks_of, utcnow
from elibrary.lending import history, policy
from elibrary.lending.availability import has_free_copy
from elibrary.lending.licenses import usage_columns
from elibrary.lending.models import Hold, HoldState, LendingEvent, License, LicenseTerms, Loan
from elibrary.lending.readability import readable_file_exists
from elibrary.patrons.models import Patron

_loans, _holds, _licenses, _patrons, _titles = Loan.__table__, Hold.__table__, License.__table__, Patron.__table__, Title.__table__
_events, _queue = LendingEvent.__table__, SearchQueueEntry.__table__

LOAN_COLUMNS = ("patron_id", "title_id", "license_id", "started_at", "due_at", "renewals", "due_notice_sent_at")
EVENT_COLUMNS = ("occurred_on", "kind", "title_id", "category", "age_band", "school", "loan_hours", "age", "grade", "license_id",
                 "license_model", "channel", "borrower_key", "hour", "weekday", "from_hold", "ndc", "audience", "format")
QUEUE_COLUMNS = ("title_id", "enqueued_at")


def _bound(table, prefix: str, columns: tuple[str, ...]) -> dict:
    return {name: bindparam(f"{prefix}_{name}", type_=table.c[name].type) for name in columns}


def _prefixed(prefix: str, row: dict) -> dict:
    return {f"{prefix}_{name}": value for name, value in row.items()}


# One statement per row (every engine).
_INSERT_LOAN = insert(_loans).returning(_loans.c.id)
_DELETE_LOAN = delete(_loans).where(_loans.c.id == bindparam("loan_id", type_=Integer))
_DELETE_HOLD = delete(_holds).where(_holds.c.id == bindparam("hold_id", type_=Integer))
_SPEND_LOAN = (
    update(_licenses)
    .where(_licenses.c.id == bindparam("spent_license", type_=Integer), _licenses.c.loans_remaining.is_not(None))
    .values(loans_remaining=_licenses.c.loans_remaining - 1)
)

# The same writes as one statement each for borrow and return (PostgreSQL). A NULL hold or licence id
# makes that part a no-op, so one prepared statement serves every case.
_EVENT_PART = insert(_events).values(_bound(_events, "event", EVENT_COLUMNS)).cte("event")
_QUEUE_PART = insert(_queue).values(_bound(_queue, "queue", QUEUE_COLUMNS)).cte("queued")
# Each with and without the change-log entry (``logged``): with a search index written in the transaction,
# only a licence's change is logged, for the book-text index (``catalog.indexing.availability_logged``).
_LENDING = select(insert(_loans).values(_bound(_loans, "loan", LOAN_COLUMNS)).returning(_loans.c.id).cte("new_loan").c.id)
_LEND_TOGETHER = {
    logged: _LENDING.add_cte(_DELETE_HOLD.cte("held"), _SPEND_LOAN.cte("spent"), _EVENT_PART, *([_QUEUE_PART] if logged else []))
    for logged in (True, False)
}
_HAS_QUEUE = exists().where(_holds.c.title_id == _loans.c.title_id, or_(_holds.c.state == HoldState.waiting, _holds.c.state == HoldState.ready))
_TITLE_HAS_QUEUE = select(_HAS_QUEUE.label("queue")).select_from(_loans).where(_loans.c.id == bindparam("loan_id", type_=Integer))
# Ending a loan (PostgreSQL): the deletion and its event as ``WITH`` parts; the statement reads whether the
# title has holds and, for a search index written in the transaction, whether it has a readable file and its
# licences with their use (with the change log, the index's follower reads those itself). Every part sees the
# database as it was when the statement began, the ended loan still counted (``close_loan`` takes it off).
_ENDED_TITLE = bindparam("title_id", type_=Integer)
_TITLE_STATE = select(
    exists().where(_holds.c.title_id == _ENDED_TITLE, or_(_holds.c.state == HoldState.waiting, _holds.c.state == HoldState.ready)).label("queue"),
    readable_file_exists(_ENDED_TITLE).label("readable"),
).subquery("title_state")
_END_TOGETHER = {
    True: select(_TITLE_STATE.c.queue).add_cte(_DELETE_LOAN.cte("ended"), _EVENT_PART, _QUEUE_PART),
    False: select(_TITLE_STATE.c.queue, _TITLE_STATE.c.readable, *usage_columns(_holds))
    .select_from(_TITLE_STATE.outerjoin(_licenses, _licenses.c.title_id == _ENDED_TITLE))
    .add_cte(_DELETE_LOAN.cte("ended"), _EVENT_PART),
}

# Return's lock and read in one statement: the title is locked first, then the loan row itself. A loan
# ended by someone else while we waited for the title is then found deleted and no row comes back; the
# patron's columns are not lending decisions and are read unlocked.
_LOCK_LOAN_TO_END = (
    select(_loans.c.id, _loans.c.patron_id, _loans.c.title_id, _loans.c.started_at, _patrons.c.category, _patrons.c.keep_reading_history,
           _loans.c.license_id, _licenses.c.model, _titles.c.ndc, _titles.c.audience, _titles.c.format)
    .join_from(_loans, _titles, _titles.c.id == _loans.c.title_id)
    .join(_patrons, _patrons.c.id == _loans.c.patron_id)
    .outerjoin(_licenses, _licenses.c.id == _loans.c.license_id)  # what the event copies: the licence's model, the title's facts
    .where(_loans.c.id == bindparam("loan_id", type_=Integer))
    .with_for_update(key_share=True, of=[_titles, _loans])  # PostgreSQL locks them in this order
)


_CARRIED: dict[tuple, tuple[Select, tuple]] = {}  # by the identity of what was composed: the statement, and what it was composed of


def _carrying(base: Select, parts: tuple[UpdateBase, ...], reads: tuple[tuple[str, ScalarSelect], ...] = ()) -> Select:
    """``base`` with ``parts`` (statements other domains built once) as ``WITH`` parts and ``reads`` (their scalar
    subqueries, by the label to read them as) as columns, composed once per set of parts and reads."""
    if not parts and not reads:
        return base
    key = (id(base), *map(id, parts), *((label, id(read)) for label, read in reads))
    found = _CARRIED.get(key)
    if found is None:
        carried = base.add_cte(*(part.cte(f"carried_{n}") for n, part in enumerate(parts)))
        carried = carried.add_columns(*(read.label(label) for label, read in reads))
        found = _CARRIED[key] = (carried, (base, parts, reads))  # the parts kept alive, so that their ids stay theirs
    return found[0]


class EndingLoan(NamedTuple):
    """What ending a loan needs to know of it and its patron (and, when already read, what its event copies)."""

    id: int
    patron_id: int
    title_id: int
    started_at: datetime
    category: str
    keep_reading_history: bool
    license_id: int | None = None
    license_model: str = ""  # "": read when the event is written
    title_facts: history.TitleFacts | None = None  # None: read when the event is written


def forget(session: Session, model, row_id: int) -> None:
    """A row deleted with Core SQL leaves the session too (a later ``get`` must not find it)."""
    obj = session.identity_map.get(identity_key(model, row_id))
    if obj is not None:
        session.expunge(obj)


def _together(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def write_loan(
    session: Session, connection: Connection, patron, title_id: int, license: LicenseTerms, due: datetime, hold_id: int | None, now: datetime,
    channel: str = "web", title_facts: history.TitleFacts | None = None, available: bool | None = None,
) -> Loan:
    """Write a decided loan (the patron's hold on the title ends; a metered licence spends a loan); returns it.

    ``available``: whether the title still has a copy free once this loan is written, as the caller decided under
    the title's lock; a search index kept in the database then takes it in the same statement (None: read at the commit).
    """
    loan = {"patron_id": patron.id, "title_id": title_id, "license_id": license.id, "started_at": now, "due_at": due, "renewals": 0, "due_notice_sent_at": None}
    spends = license.loans_remaining is not None
    facts = {"license_id": license.id, "license_model": license.model, "channel": channel, "from_hold": hold_id is not None, "title_facts": title_facts}
    if _together(connection):
        event = history.event_row(session, "borrow", title_id, patron, now, **facts)
        logged = spends or indexing.availability_logged(session)  # a spent loan changes the licence (book text follows licences)
        queue = _prefixed("queue", {"title_id": title_id, "enqueued_at": utcnow()}) if logged else {}
        params = {**_prefixed("loan", loan), **_prefixed("event", event), **queue, "hold_id": hold_id, "spent_license": license.id if spends else None}
        index = indexing.availability_statement(session) if available is not None else None
        if index is not None:
            params.update(index_title_id=title_id, index_available=available)
        loan_id = connection.execute(_carrying(_LEND_TOGETHER[logged], (index,) if index is not None else ()), params).scalar_one()
        indexing.queued_by_sql(session, [title_id], written=index is not None)
    else:
        if hold_id is not None:
            connection.execute(_DELETE_HOLD, {"hold_id": hold_id})
        loan_id = connection.execute(_INSERT_LOAN, loan).scalar_one()
        if spends:
            connection.execute(_SPEND_LOAN, {"spent_license": license.id})
        history.record_event(session, "borrow", title_id, patron, now, **facts)
        indexing.queue_titles(session, [title_id])
    if hold_id is not None:
        forget(session, Hold, hold_id)
    if spends and (held := session.identity_map.get(identity_key(License, license.id))) is not None:
        session.expire(held, ["loans_remaining"])
    written = Loan(id=loan_id, **loan)
    make_transient_to_detached(written)  # the row exists: the session holds it without a flush or a SELECT
    session.add(written)
    return written


def lock_loan_to_end(connection: Connection, loan_id: int) -> EndingLoan | None:
    """Lock the loan's title, then the loan; the loan with its patron's category and history choice, or None."""
    row = connection.execute(_LOCK_LOAN_TO_END, {"loan_id": loan_id}).first()
    if row is None:
        return None
    return EndingLoan(row.id, row.patron_id, row.title_id, row.started_at, row.category, row.keep_reading_history, row.license_id,
                      row.model or "", history.TitleFacts(row.ndc, row.audience, row.format))


# Rows of other domains tied to a loan that must end with it (the readers' saved position, unless the patron
# keeps a reading history). Core deletes fire no ORM events, so this is how those domains hear of it: each
# hook gets the ending loan and returns the statement that ends its rows (an UPDATE or DELETE it built once,
# its bind parameters named after its domain) with their values, or None; the statement runs with the
# loan's deletion, on PostgreSQL inside the same statement. The wiring room adds the hooks to each runtime's
# database (``Database.hooks``), so two databases in one process never share one.
LOAN_END = "lending.loan-end"
LoanEndHook = Callable[[EndingLoan], tuple[UpdateBase, dict] | None]


def close_loan(session: Session, connection: Connection, loan: EndingLoan, kind: str, now: datetime) -> bool:
    """Delete the loan, keeping a de-identified event, and a reading-history entry only if the patron opted in.

    Returns whether the title has holds (waiting or ready), read after the title lock: the caller then serves the queue.
    """
    hours = max(0, int((now - loan.started_at).total_seconds() // 3600))
    ending = [write for hook in hooks_of(session, LOAN_END) if (write := hook(loan)) is not None]
    if loan.keep_reading_history:
        history.record_reading(session, loan.patron_id, loan.title_id, policy.tokyo_today(loan.started_at), policy.tokyo_today(now))
    if _together(connection):
        event = history.event_row(session, kind, loan.title_id, loan, now, hours, license_id=loan.license_id, license_model=loan.license_model,
                                  title_facts=loan.title_facts)
        logged = indexing.availability_logged(session)
        queue = _prefixed("queue", {"title_id": loan.title_id, "enqueued_at": utcnow()}) if logged else {}
        params = {"loan_id": loan.id, "title_id": loan.title_id, "index_title_id": loan.title_id, **_prefixed("event", event), **queue}
        for _, values in ending:
            params.update(values)
        indexed = None if logged else indexing.indexed_availability(session)
        statement = _carrying(_END_TOGETHER[logged], tuple(part for part, _ in ending), (("indexed", indexed),) if indexed is not None else ())
        rows = connection.execute(statement, params).all()
        has_queue = rows[0].queue
        if indexed is None:
            indexing.queued_by_sql(session, [loan.title_id])
        else:  # the title's availability once the loan is off its licence, for the index written in this transaction
            usage = [(LicenseTerms(r.id, r.model, r.copies, r.loans_remaining, r.valid_until, r.max_loan_days),
                      r.on_loan - (r.id == loan.license_id), r.reserved) for r in rows if r.id is not None]
            available = bool(rows[0].readable) and has_free_copy(usage, now)
            indexing.queued_by_sql(session, [loan.title_id], known={loan.title_id: available}, written=rows[0].indexed == available)
    else:
        for statement, values in ending:
            connection.execute(statement, values)
        has_queue = connection.execute(_TITLE_HAS_QUEUE, {"loan_id": loan.id}).scalar()
        history.record_event(session, kind, loan.title_id, loan, now, hours, license_id=loan.license_id, license_model=loan.license_model,
                             title_facts=loan.title_facts)
        connection.execute(_DELETE_LOAN, {"loan_id": loan.id})
        indexing.queue_titles(session, [loan.title_id])
    forget(session, Loan, loan.id)
    return bool(has_queue)
