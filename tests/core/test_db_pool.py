"""The PostgreSQL pool checks a connection before use only after it sat idle (``elibrary.db.ping_when_idle``)."""
from __future__ import annotations

import time

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from elibrary.db import PING_AFTER_IDLE_SECONDS, make_engine


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()


def test_a_connection_killed_while_idle_in_the_pool_is_replaced_at_checkout(postgresql_url):
    engine = make_engine(postgresql_url)
    admin = create_engine(postgresql_url, poolclass=NullPool)
    try:
        pid = _backend_pid(engine)
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        time.sleep(PING_AFTER_IDLE_SECONDS + 0.2)
        assert _backend_pid(engine) != pid  # the dead one was found at checkout and replaced: no error reached the caller
    finally:
        engine.dispose()
        admin.dispose()


def test_a_connection_used_a_moment_ago_is_not_checked_again(postgresql_url):
    engine = make_engine(postgresql_url)
    real_ping, pings = engine.dialect.do_ping, []

    def counted_ping(dbapi_connection):
        pings.append(dbapi_connection)
        return real_ping(dbapi_connection)

    engine.dialect.do_ping = counted_ping  # the real ping, counted
    try:
        first = _backend_pid(engine)  # a new connection: nothing to check
        assert _backend_pid(engine) == first
        assert pings == []
        time.sleep(PING_AFTER_IDLE_SECONDS + 0.2)
        assert _backend_pid(engine) == first
        assert len(pings) == 1  # idle long enough: checked once, found alive, kept
    finally:
        engine.dispose()
