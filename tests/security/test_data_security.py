"""Issue 11, data items: hostile descriptions (4), CSV rows lost to a quote (9), the access log's tamper
evidence (10), and from 13: a failing restore, formula cells in the audit export, the database file's mode.

Each test plays the attack or the accident described in the issue, against the running application and
its commands, on SQLite and (with ``ELIBRARY_TEST_DATABASE_URL``) PostgreSQL.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from lxml import etree
from sqlalchemy import func, select, text

from catalog_import.runner import run_import
from elibrary import create_app
from elibrary.audit import services as audit
from elibrary.catalog.models import Title
from tests.catalog.factories import make_title
from tests.conftest import csrf_token_for, make_test_config, sign_in_staff

ATOM = "{http://www.w3.org/2005/Atom}"
HOSTILE = ('"&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;'
           '<p>紹介文</p><scr<script>ipt>alert(3)</script>"')


def _csv(tmp_path, body: str) -> str:
    path = tmp_path / "books.csv"
    path.write_text(body, encoding="utf-8")
    return str(path)


# -- 4. descriptions ---------------------------------------------------------------------------------------
def test_an_imported_description_never_carries_markup_to_any_output(rt, client, tmp_path):
    report = run_import(rt, "csv", [_csv(tmp_path, f"タイトル,内容紹介\n危ない本,{HOSTILE}\n")])
    assert report.added == 1
    with rt.db.scope(write=False) as session:
        title = session.scalar(select(Title))
    assert "<" not in title.description and "紹介文" in title.description
    for path in (f"/opds/v2/titles/{title.id}", f"/opds/v1/titles/{title.id}", f"/titles/{title.id}"):
        body = client.get(path).get_data(as_text=True)
        assert "紹介文" in body and "alert(1)" not in body and "alert(2)" not in body and "onerror" not in body, path
    assert "<" not in client.get(f"/opds/v2/titles/{title.id}").json["metadata"]["description"]


def test_a_stored_description_with_markup_is_escaped_in_every_output(rt, client):
    # Rows written before the fix (or typed by staff) are plain text: every output escapes them.
    with rt.db.scope() as session:
        title_id = make_title(session, description='古い行 <img src=x onerror="alert(1)"> & </script><b>').id
    v2 = client.get(f"/opds/v2/titles/{title_id}").json["metadata"]["description"]
    assert v2 == '古い行 &lt;img src=x onerror="alert(1)"&gt; &amp; &lt;/script&gt;&lt;b&gt;'  # shown as HTML by reading apps
    summary = etree.fromstring(client.get(f"/opds/v1/titles/{title_id}").data).find(f"{ATOM}summary")
    assert summary.get("type") == "text" and summary.text.startswith("古い行 <img")  # Atom text: never parsed
    page = client.get(f"/titles/{title_id}").get_data(as_text=True)
    assert "古い行 &lt;img src=x" in page and "<img src=x" not in page


# -- 9. CSV rows lost to a quote ------------------------------------------------------------------------------
def test_an_unbalanced_quote_no_longer_swallows_the_rest_of_the_file(rt, tmp_path):
    body = "タイトル,著者,出版社\n一の本,山田,みどり\n二の本,\"佐藤 太郎,みどり\n三の本,鈴木,あお\n四の本,田中,\"あか\"\n"
    report = run_import(rt, "csv", [_csv(tmp_path, body)])
    assert (report.added, report.rejected) == (3, 1)
    (problem,) = report.problems
    assert problem.position == "line 3" and "quote" in problem.reason_en
    with rt.db.scope(write=False) as session:
        titles = set(session.scalars(select(Title.title)))
        names = [n for (n,) in session.execute(text("SELECT name FROM contributors"))]
    assert titles == {"一の本", "三の本", "四の本"} and all("\n" not in n for n in names)


# -- 10. the access log ---------------------------------------------------------------------------------------
def _edit_without_guard(rt, statement: str) -> None:
    with rt.db.engine.begin() as conn:
        if rt.db.is_sqlite:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_access_log_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_access_log_no_delete"))
        else:
            conn.execute(text("ALTER TABLE audit_access_log DISABLE TRIGGER audit_access_log_append_only"))
        conn.execute(text(statement))


def _three_entries(rt) -> None:
    for n in range(3):
        audit.record_now(rt.db, audit.Access(1, "shisho@city.example.jp", "192.0.2.1", "view", f"patron:{n}", n, ("name",)))


def test_the_chain_cannot_be_recomputed_from_the_database_alone(rt, runner):
    from tests.audit.test_keyed_chain import _rewrite_unkeyed

    _three_entries(rt)
    # The old attack: lift the guard, change a row, recompute every link with plain SHA-256 (the database holds no key).
    _rewrite_unkeyed(rt, "UPDATE audit_access_log SET staff_email = 'nobody@example.jp' WHERE id = 2")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "tampered at entry 1" in result.output


def test_deleting_the_last_entries_fails_verification(rt, runner):
    _three_entries(rt)
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    _edit_without_guard(rt, "DELETE FROM audit_access_log WHERE id = 3")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "newest entries were removed" in result.output


def test_the_audit_key_is_outside_the_database_and_private(app, rt):
    key = Path(app.instance_path) / "audit_key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and rt.audit.key == key.read_text().strip().encode()


# -- 13. restore, CSV export, database file mode ------------------------------------------------------------------
def test_a_restore_that_fails_while_loading_leaves_the_live_database_as_it_was(app, rt, runner, tmp_path):
    from tests.backup.test_backup import damaged_by_duplicate_row

    with rt.db.scope() as session:
        make_title(session, title="復元前の本")
    created = runner.invoke(args=["backup", "create", str(tmp_path / "b")])
    backup = damaged_by_duplicate_row(Path(created.output.strip().splitlines()[-1]), "titles")
    result = runner.invoke(args=["backup", "restore", str(backup), "--replace"])
    assert result.exit_code == 1 and "the database was not changed" in result.output
    with rt.db.scope(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Title)) == 1
        assert session.scalar(select(Title.title)) == "復元前の本"


def test_the_audit_csv_export_neutralises_formula_cells(client, rt):
    sign_in_staff(client, rt, "admin")
    audit.record_now(rt.db, audit.Access(1, "admin@city.example.jp", "192.0.2.1", "view", "=HYPERLINK(\"http://x\")", None, (), "@SUM(A1)"))
    response = client.post("/staff/audit/export.csv", data={"csrf_token": csrf_token_for(client)})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "'=HYPERLINK" in body and "'@SUM(A1)" in body and ",=" not in body and ",@" not in body


def test_a_new_sqlite_database_file_is_readable_by_its_owner_only(tmp_path):
    instance = tmp_path / "fresh-instance"
    fresh = create_app(make_test_config(instance, f"sqlite:///{instance / 'elibrary.db'}"))
    try:
        assert fresh.test_cli_runner().invoke(args=["init"]).exit_code == 0
        for name in ("elibrary.db", "secret_key", "data_key", "audit_key"):
            assert stat.S_IMODE(os.stat(instance / name).st_mode) == 0o600, name
    finally:
        fresh.extensions["elibrary"].db.dispose()


# The deployment advice of issue 11 item 10, run: the app connects as a role that does not own the access log.
APP_ROLE_GRANTS = """
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};
REVOKE UPDATE, DELETE, TRUNCATE ON audit_access_log FROM {role};
"""


def test_an_app_role_that_does_not_own_the_log_can_append_but_not_rewrite(engine_name, rt):
    import uuid

    import pytest
    from sqlalchemy import create_engine
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.orm import Session

    from elibrary.audit.chain import INFO_KEY

    if engine_name != "postgresql":
        pytest.skip("roles and grants are PostgreSQL's")
    role = f"elibrary_app_{uuid.uuid4().hex[:8]}"
    with rt.db.engine.begin() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        for statement in APP_ROLE_GRANTS.format(role=role).strip().splitlines():
            conn.execute(text(statement))
    app_engine = create_engine(rt.db.engine.url.set(username=role, password=None))
    try:
        with Session(app_engine, info={INFO_KEY: rt.audit}) as session, session.begin():
            audit.record(session, audit.Access(1, "shisho@city.example.jp", "192.0.2.1", "view", "patron:1", 1, ("name",)))
        for statement in ("ALTER TABLE audit_access_log DISABLE TRIGGER audit_access_log_append_only",
                          "UPDATE audit_access_log SET detail = 'x'", "DELETE FROM audit_access_log", "TRUNCATE audit_access_log",
                          "DROP TRIGGER audit_access_log_append_only ON audit_access_log"):
            with pytest.raises(DBAPIError, match="must be owner|permission denied"):
                with app_engine.begin() as conn:
                    conn.execute(text(statement))
        with rt.db.scope(write=False) as session:
            assert audit.verify(session, audit.Anchor(1, session.scalar(select(audit.AccessLogEntry.entry_hash)))).ok
    finally:
        app_engine.dispose()
        with rt.db.engine.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
