"""Shared fixtures: ``app``, ``client``, ``runner``, ``db_session``, ``rt`` and the database engines.

Every test that touches the database runs on SQLite and, when ``ELIBRARY_TEST_DATABASE_URL`` points at a
PostgreSQL server, on PostgreSQL too (in a database of its own, created for this test run and dropped after).
"""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from elibrary import create_app
from elibrary.db import Base, make_engine
from elibrary.migrate import upgrade_database

FILES = Path(__file__).resolve().parent / "files"
EXTERNAL = FILES / "external"  # public test material copied in; its source and licence: tests/files/external/SOURCES.md
PG_URL = os.environ.get("ELIBRARY_TEST_DATABASE_URL")

ENGINES = ["sqlite"] + (["postgresql"] if PG_URL else [])


def pytest_generate_tests(metafunc):
    if "engine_name" in metafunc.fixturenames:
        metafunc.parametrize("engine_name", ENGINES, scope="session")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite database, copied for each test (much faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgresql_url():
    """A fresh PostgreSQL database for this test run (parallel runs never share tables)."""
    if not PG_URL:
        pytest.skip("ELIBRARY_TEST_DATABASE_URL is not set")
    server = make_url(PG_URL)
    name = f"elibrary_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade_database(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(engine_name, request, tmp_path) -> str:
    """A database of the schema's newest revision, empty, for one test."""
    if engine_name == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "elibrary.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgresql_url")
    yield_url = url
    request.addfinalizer(lambda: _truncate_all(url))
    return yield_url


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


def make_test_config(instance: Path, database_url: str, **overrides) -> dict:
    """The settings every test app uses; ``overrides`` change any of them."""
    config = {
        "TESTING": True,
        "ELIBRARY_INSTANCE_PATH": str(instance),
        "ELIBRARY_DATABASE_URL": database_url,
        "ELIBRARY_SEARCH": "whoosh",
        "ELIBRARY_SEARCH_SYNC": True,
        "ELIBRARY_BOOKTEXT": "memory",  # tests of 本文検索 choose "tantivy"
        "ELIBRARY_STORAGE": "local",
        "ELIBRARY_NOTIFIER": "memory",
        "ELIBRARY_ILS": "local",
    }
    config.update(overrides)
    return config


@pytest.fixture
def app_config(tmp_path, database_url) -> dict:
    """Override entries in a test module with ``@pytest.fixture def app_config(app_config): ...``."""
    return make_test_config(tmp_path / "instance", database_url)


@pytest.fixture
def app(app_config):
    """An application on a fresh database and instance folder."""
    application = create_app(app_config)
    yield application
    application.extensions["elibrary"].db.dispose()


@pytest.fixture
def rt(app):
    """The application's runtime (database, backends)."""
    return app.extensions["elibrary"]


@pytest.fixture
def client(app):
    """A test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner bound to the app."""
    return app.test_cli_runner()


@pytest.fixture
def db_session(rt):
    """A session inside a transaction that is rolled back after the test (services only flush)."""
    connection = rt.db.engine.connect()
    outer = connection.begin()
    session = rt.db.factory(bind=connection, join_transaction_mode="create_savepoint")
    yield session
    session.close()
    outer.rollback()
    connection.close()


def csrf_token_for(client) -> str:
    """Open a page so the session has a CSRF token, and return it."""
    client.get("/login")
    with client.session_transaction() as sess:
        return sess["_csrf"]


def sign_in_staff(client, rt, role: str, email: str | None = None, school: str | None = None):
    """Create a staff member and sign them in through the real /staff/login steps (password, then TOTP
    for admin and librarian). Returns the ``StaffUser``."""
    import time

    import pyotp
    from werkzeug.security import generate_password_hash

    from elibrary.staff import totp
    from elibrary.staff.services import add_staff

    email = email or f"{role}@city.example.jp"
    secret = pyotp.random_base32()
    with rt.db.scope() as session:
        user, _ = add_staff(session, email, role, school or ("S001" if role == "teacher" else None))
        user.password_hash = generate_password_hash("staff-password-123")
        user.must_change_password = False
        if totp.needs_totp(user):
            user.totp_secret_enc = rt.cipher.encrypt(secret, totp.CONTEXT)
    token = csrf_token_for(client)
    response = client.post("/staff/login", data={"email": email, "password": "staff-password-123", "csrf_token": token})
    if response.headers.get("Location", "").endswith("/staff/login/code"):
        response = client.post("/staff/login/code", data={"code": pyotp.TOTP(secret).at(time.time()), "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"].endswith("/staff/"), response.status_code
    return user
