"""Indexing in the title's own transaction, for a search index kept in the same database (``ELIBRARY_SEARCH=postgresql``).

With such an index there is no change log to follow: a flush that touches a title notes its id on the
session (``catalog.indexing.queue_titles``), and just before the transaction commits the noted titles'
rows are rewritten on the transaction's own connection, so the title and its index row commit or roll
back together and every app server sees the change at once. A change that only moved availability (a
loan, a hold, a licence) rewrites only that column.

Lending's statements already hold what availability is read from (a title's licences and their use, under
the title's lock), so they say what it now is (``known``), and the commit writes it without reading it
again; a borrow's statement even carries the index's ``availability_statement`` and writes it itself, and a
return's reads what the index holds (``indexed_availability``), so an unchanged one is not written
(``written``). Any later change of the title in the transaction makes it unknown again.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker
from sqlalchemy.sql.dml import Update
from sqlalchemy.sql.selectable import ScalarSelect

from elibrary.search.base import SearchDocument

INFO_KEY = "search.in-transaction"  # session.info: the TransactionIndex of a database whose index is one of its tables
PENDING_KEY = "search.pending"  # session.info: {title id: whether more than availability changed}
# session.info: {title id: its availability now, as the statement that changed it told; None: that statement wrote it}
KNOWN_KEY = "search.known-availability"


class InTransactionBackend(Protocol):
    """A search backend whose rows the application writes itself (``search.postgresql.PostgresSearch``)."""

    def write_documents(self, connection: Connection, documents: list[SearchDocument], deleted: Iterable[int] = ()) -> None:
        """Upsert and delete rows in the caller's transaction."""

    def set_availability(self, connection: Connection, available: dict[int, bool]) -> None:
        """Change only the availability of these titles."""

    def availability_statement(self) -> Update:
        """One title's availability as an ``UPDATE`` another statement can carry (a ``WITH`` part), with the bind
        parameters ``index_title_id`` and ``index_available``; built once, so that the carrier stays one prepared statement."""

    def indexed_availability(self) -> ScalarSelect:
        """What the index holds as one title's availability (bind parameter ``index_title_id``), a scalar subquery built once."""


class TransactionIndex:
    """Notes touched titles per session and writes their rows before the commit."""

    def __init__(self, search: InTransactionBackend, enrichers: list) -> None:
        self.search = search
        self.enrichers = enrichers  # the indexer's own list: availability comes from the lending wing

    def attach(self, factory: sessionmaker) -> None:
        """Listen to the sessions of ``factory`` (the wiring room calls this for one database)."""
        event.listen(factory, "before_commit", self._before_commit)
        event.listen(factory, "after_transaction_end", self._after_transaction_end)

    @staticmethod
    def note(session: Session, title_ids: Iterable[int], *, availability_only: bool, known: Mapping[int, bool] | None = None) -> None:
        """Remember titles to index when this session's transaction commits; ``known``: the availability the caller
        has just decided for some of them (the commit then writes it without reading it)."""
        pending: dict[int, bool] = session.info.setdefault(PENDING_KEY, {})
        told: dict[int, bool | None] = session.info.setdefault(KNOWN_KEY, {})
        for title_id in title_ids:
            pending[title_id] = pending.get(title_id, False) or not availability_only
            if known is not None and title_id in known:
                told[title_id] = known[title_id]
            else:
                told.pop(title_id, None)  # changed again since it was told: read it at the commit

    @staticmethod
    def note_written(session: Session, title_ids: Iterable[int]) -> None:
        """These titles' availability was written by the statement that changed it (``availability_statement``), or
        that statement found the index already holding it: nothing is left to do for them at the commit, unless more
        than their availability changes.

        They stay noted: a rolled-back savepoint takes the written value back, and the commit then reads them.
        """
        pending: dict[int, bool] = session.info.setdefault(PENDING_KEY, {})
        told: dict[int, bool | None] = session.info.setdefault(KNOWN_KEY, {})
        for title_id in title_ids:
            pending.setdefault(title_id, False)
            told[title_id] = None

    def availability_statement(self) -> Update:
        """The index's statement for one title's availability (``InTransactionBackend.availability_statement``)."""
        return self.search.availability_statement()

    def indexed_availability(self) -> ScalarSelect:
        """What the index holds as one title's availability (``InTransactionBackend.indexed_availability``)."""
        return self.search.indexed_availability()

    def _before_commit(self, session: Session) -> None:
        from elibrary.catalog.indexing import build_documents

        if not session.info.get(PENDING_KEY):
            return
        session.flush()  # what the commit would flush may touch more titles
        pending: dict[int, bool] = session.info.pop(PENDING_KEY, {})
        told: dict[int, bool | None] = session.info.pop(KNOWN_KEY, {})
        connection = session.connection()
        full = sorted(i for i, whole in pending.items() if whole)
        if full:
            documents = build_documents(session, full, self.enrichers)
            present = {doc.id for doc in documents}
            self.search.write_documents(connection, documents, [i for i in full if i not in present])
        moved = sorted(i for i, whole in pending.items() if not whole and i not in told)
        available = {i: known for i, whole in pending.items() if not whole and (known := told.get(i)) is not None}
        if moved:
            for enrich in self.enrichers:
                for title_id, fields in enrich(session, moved).items():
                    if "available" in fields:
                        available[title_id] = bool(fields["available"])
        if available:
            self.search.set_availability(connection, available)

    @staticmethod
    def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:
            session.info.pop(PENDING_KEY, None)  # rolled back: nothing to index
            session.info.pop(KNOWN_KEY, None)
        elif transaction.nested:
            session.info.pop(KNOWN_KEY, None)  # a savepoint ended, perhaps rolled back: what was told may be undone, so read at the commit


def index_in_transaction(factory: sessionmaker, share, search: InTransactionBackend, enrichers: list) -> TransactionIndex:
    """Index the titles each transaction of ``factory`` touches in that transaction (``share`` is ``Database.share``)."""
    index = TransactionIndex(search, enrichers)
    share(INFO_KEY, index)
    index.attach(factory)
    return index
