"""The database: declarative base, engine, and the one transaction per request or command.

Services receive a ``Session`` and may ``flush()`` but never ``commit()``. The request boundary
(``init_app``) and the CLI (``session_scope``) commit on success and roll back on error. Work that must
only happen once data is committed (search indexing, notification delivery) is asked for through
``request_after_commit(session, name)`` and run by the callbacks registered in ``AfterCommit``.
"""
from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every model; constraint names are stable across engines."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and always returned timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use utcnow() or an aware datetime")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


def utcnow() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def make_engine(url: str) -> Engine:
    """Create an engine with the settings each backend needs for concurrent workers.

    On SQLite, transactions begin DEFERRED (readers never wait) unless the connection carries the
    execution option ``sqlite_begin="IMMEDIATE"``: see ``Database.writer``.
    """
    if url.startswith("sqlite"):
        create_private_sqlite_file(url)
        kwargs: dict = {"connect_args": {"timeout": 30, "check_same_thread": False}}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    engine = create_engine(url, pool_size=5, max_overflow=10)
    ping_when_idle(engine)
    return engine


# A pooled connection is checked before use only when it has sat idle this long: a connection a worker used a
# moment ago is alive (HikariCP skips its check within 500 ms the same way), and a busy worker then spends no
# round trip per request on the check. A server restarted in that moment fails one statement; SQLAlchemy then
# drops every connection of the pool, and the next checkout of each is checked.
PING_AFTER_IDLE_SECONDS = 0.5
_IDLE_SINCE = "elibrary.idle-since"


def ping_when_idle(engine: Engine, idle_seconds: float = PING_AFTER_IDLE_SECONDS) -> None:
    """Check a pooled connection (``SELECT 1``) at checkout when it was idle for ``idle_seconds`` or more; replace a dead one."""
    dialect = engine.dialect

    def stamp(_dbapi_connection, record) -> None:
        if record is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    def check(dbapi_connection, record, _proxy) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < idle_seconds:
            return  # new, or used a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            # as pool_pre_ping does: every pooled connection older than now is replaced, this one at once
            raise exc.InvalidatePoolError(f"pooled connection found dead: {error}") from error

    event.listen(engine, "checkin", stamp)
    event.listen(engine, "checkout", check)


def create_private_sqlite_file(url: str) -> None:
    """Create a SQLite database file readable by its owner only (0600, like the keys) before SQLite would
    create it under the umask (often 0644); its WAL and shared-memory files take the same mode."""
    from sqlalchemy.engine import make_url

    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except (FileExistsError, FileNotFoundError):
        pass  # an existing database (kept as it is), or a folder that is missing (SQLite says so itself)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # We manage transactions ourselves (see _sqlite_begin_immediate); WAL lets readers run beside a writer.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin_immediate(connection) -> None:
    # BEGIN IMMEDIATE takes the write lock at the start, so two workers can never both read a
    # free copy and then both lend it: the second waits (busy_timeout) for the first to commit.
    # A DEFERRED transaction that reads and then writes would instead fail with "database is locked".
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """The engine and session factories of one application or command."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # Sessions that will write take SQLite's write lock when they begin (no-op elsewhere).
        self.write_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        # Each session carries this database's hooks (``hooks_of``): other domains hear of events
        # (a loan ending ...) per database, never through module-level lists.
        self.hooks = Hooks()
        self.factory = sessionmaker(bind=self.engine, expire_on_commit=False, info={HOOKS_KEY: self.hooks})
        self.after_commit = AfterCommit()
        self.after_commit.attach(self.factory)

    def share(self, key: str, value: Any) -> None:
        """Give every session of this database ``value`` as ``session.info[key]`` (beside the hooks)."""
        self.factory.configure(info={**self.factory.kw.get("info", {}), key: value})

    def session(self, *, write: bool = False) -> Session:
        """A new session; ``write=True`` for work that changes data (serialised on SQLite)."""
        return self.factory(bind=self.write_engine if write else self.engine)

    @contextlib.contextmanager
    def scope(self, *, write: bool = True) -> Iterator[Session]:
        """One transaction: commit on success, roll back on any exception (CLI commands and jobs)."""
        session = self.session(write=write)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        """Close pooled connections (after fork, and at the end of tests)."""
        self.engine.dispose()


HOOKS_KEY = "elibrary.hooks"


class Hooks:
    """Named lists of callbacks of one database, filled by the wiring room (``elibrary.wiring``).

    A domain that lets others hear of something names a hook (``lending.loan_rows.LOAN_END``) and calls
    ``hooks_of(session, name)``; the wiring room adds the listeners of each runtime to its own database.
    """

    def __init__(self) -> None:
        self._hooks: dict[str, list[Callable]] = {}

    def add(self, name: str, callback: Callable) -> None:
        """Call ``callback`` when sessions of this database run the hook ``name`` (once, however often added)."""
        callbacks = self._hooks.setdefault(name, [])
        if callback not in callbacks:
            callbacks.append(callback)

    def get(self, name: str) -> tuple[Callable, ...]:
        """The callbacks of ``name``, in the order added."""
        return tuple(self._hooks.get(name, ()))


def hooks_of(session: Session, name: str) -> tuple[Callable, ...]:
    """The callbacks the session's database has for hook ``name`` (none for a session made elsewhere)."""
    hooks = session.info.get(HOOKS_KEY)
    return hooks.get(name) if hooks is not None else ()


class AfterCommit:
    """Named callbacks run after a session commits (in the committing thread, after the data is durable)."""

    def __init__(self) -> None:
        self._callbacks: dict[str, Callable[[], None]] = {}

    def register(self, name: str, callback: Callable[[], None]) -> None:
        """Run ``callback`` after any commit of a session that asked for ``name``."""
        self._callbacks[name] = callback

    def attach(self, factory: sessionmaker) -> None:
        """Listen to the commits and rollbacks of every session ``factory`` makes."""
        event.listen(factory, "after_commit", self._after_commit)
        event.listen(factory, "after_soft_rollback", self._after_rollback)

    def _after_commit(self, session: Session) -> None:
        if session.in_nested_transaction():
            return  # SQLAlchemy reports a released SAVEPOINT as a commit: wait for the real one
        wanted = session.info.pop("after_commit", set())
        for name in sorted(wanted):
            callback = self._callbacks.get(name)
            if callback is None:
                continue
            try:
                callback()
            except Exception:  # the data is committed; a failed kick is retried by the job runner
                log.exception("after-commit task %s failed; it will be retried by the scheduled jobs", name)

    @staticmethod
    def _after_rollback(session: Session, previous_transaction) -> None:
        if previous_transaction.nested:
            return  # a rolled-back SAVEPOINT: what the outer transaction asked for still stands
        session.info.pop("after_commit", None)


def request_after_commit(session: Session, name: str) -> None:
    """Ask for the named after-commit task once this session's transaction commits."""
    session.info.setdefault("after_commit", set()).add(name)


def after_transaction(caller: Session, run: Callable[[], None], *, on_rollback: bool = True, what: str = "an after-transaction task") -> None:
    """Run ``run`` once, right after ``caller``'s outermost transaction commits (or rolls back, if ``on_rollback``).

    For writes that must wait until the caller lets go of SQLite's write lock (the sign-in throttle, the
    rate limit, security events). A failure is logged as ``what``: the caller's answer is already decided.
    """
    done: list[bool] = []

    def fire(session: Session) -> None:
        if done or session.in_nested_transaction():
            return  # a SAVEPOINT ended (SQLAlchemy reports those too): the caller's transaction still holds the lock
        done.append(True)
        try:
            run()
        except Exception:
            log.exception("%s failed", what)

    event.listen(caller, "after_commit", fire)
    if on_rollback:
        event.listen(caller, "after_rollback", fire)
