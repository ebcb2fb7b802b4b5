"""Indexing in the title's own transaction, for a search index kept in the same database (``ELIBRARY_SEARCH=postgresql``).

With such an index there is no change log to follow: a flush that touches a title notes its id on the
session (``catalog.indexing.queue_titles``), and just before the transaction commits the noted titles'
rows are rewritten on the transaction's own connection, so the title and its index row commit or roll
back together and every app server sees the change at once. A change that only moved availability (a
loan, a hold, a licence) rewrites only that column.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from elibrary.search.base import SearchDocument

INFO_KEY = "search.in-transaction"  # session.info: the TransactionIndex of a database whose index is one of its tables
PENDING_KEY = "search.pending"  # session.info: {title id: whether more than availability changed}


class InTransactionBackend(Protocol):
    """A search backend whose rows the application writes itself (``search.postgresql.PostgresSearch``)."""

    def write_documents(self, connection: Connection, documents: list[SearchDocument], deleted: Iterable[int] = ()) -> None:
        """Upsert and delete rows in the caller's transaction."""

    def set_availability(self, connection: Connection, available: dict[int, bool]) -> None:
        """Change only the availability of these titles."""


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
    def note(session: Session, title_ids: Iterable[int], *, availability_only: bool) -> None:
        """Remember titles to index when this session's transaction commits."""
        pending: dict[int, bool] = session.info.setdefault(PENDING_KEY, {})
        for title_id in title_ids:
            pending[title_id] = pending.get(title_id, False) or not availability_only

    def _before_commit(self, session: Session) -> None:
        from elibrary.catalog.indexing import build_documents

        if not session.info.get(PENDING_KEY):
            return
        session.flush()  # what the commit would flush may touch more titles
        pending: dict[int, bool] = session.info.pop(PENDING_KEY, {})
        connection = session.connection()
        full = sorted(i for i, whole in pending.items() if whole)
        if full:
            documents = build_documents(session, full, self.enrichers)
            present = {doc.id for doc in documents}
            self.search.write_documents(connection, documents, [i for i in full if i not in present])
        moved = sorted(i for i, whole in pending.items() if not whole)
        if moved:
            available: dict[int, bool] = {}
            for enrich in self.enrichers:
                for title_id, fields in enrich(session, moved).items():
                    if "available" in fields:
                        available[title_id] = bool(fields["available"])
            self.search.set_availability(connection, available)

    @staticmethod
    def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:
            session.info.pop(PENDING_KEY, None)  # rolled back: nothing to index


def index_in_transaction(factory: sessionmaker, share, search: InTransactionBackend, enrichers: list) -> TransactionIndex:
    """Index the titles each transaction of ``factory`` touches in that transaction (``share`` is ``Database.share``)."""
    index = TransactionIndex(search, enrichers)
    share(INFO_KEY, index)
    index.attach(factory)
    return index
