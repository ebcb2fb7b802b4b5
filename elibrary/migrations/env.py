"""Alembic environment: the engine comes from ``elibrary.migrate`` (or the URL for the alembic CLI)."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import elibrary.models  # noqa: F401  (fills Base.metadata)
from elibrary.db import Base

config = context.config
target_metadata = Base.metadata


def render_item(type_, obj, autogen_context):
    """Render our TypeDecorators as their plain SQL types, so migrations never import app code."""
    if type_ == "type" and obj.__class__.__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # ALTER TABLE via copy on SQLite
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    shared = config.attributes.get("connection")
    if shared is not None:  # the caller's open transaction (a restore): it commits or rolls back, not us
        _run(shared)
        return
    engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        _run(connection)
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported; run `elibrary init` against a database")
run_migrations_online()
