"""Migrations: they build the models' schema on every engine and keep data when upgrading."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

import elibrary.models  # noqa: F401
from elibrary.db import Base, make_engine
from elibrary.migrate import upgrade_database


def test_migrations_match_the_models(database_url):
    engine = make_engine(database_url)
    postgresql = engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        # PostgreSQL alone has the search and pool-word tables of migration 0130_search_pg.
        target = [Base.metadata, *elibrary.models.POSTGRESQL_ONLY] if postgresql else Base.metadata
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), target)
    engine.dispose()
    assert diff == []


def test_upgrade_is_idempotent_and_keeps_data(database_url):
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO collections (code, name, name_en) VALUES ('kids', '児童書', 'Children')"))
    upgrade_database(engine)  # running `elibrary init` again
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM collections WHERE code = 'kids'")).scalar() == "児童書"
        assert "titles" in inspect(conn).get_table_names()
    engine.dispose()
