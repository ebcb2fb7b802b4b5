"""``elibrary backup create`` / ``restore``: a real demo instance copied into a fresh one, on both engines."""
from __future__ import annotations

import io
import json
import tarfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.engine import make_url

from elibrary import create_app
from elibrary.audit import services as audit
from elibrary.backup.archive import create_backup, decode_value, encode_value
from elibrary.backup.restore import restore_backup
from elibrary.models import POSTGRESQL_ONLY
from elibrary.search.base import SearchQuery
from tests.conftest import PG_URL, csrf_token_for, make_test_config

DEMO_CARD, DEMO_PIN = "10000001", "1234"


@pytest.fixture
def source(app, rt, runner):
    """The demo instance, with a staff access to personal data in the audit log."""
    assert runner.invoke(args=["init", "--demo"]).exit_code == 0
    with rt.db.scope() as session:
        audit.record(session, audit.Access(None, "librarian@city.example.jp", "127.0.0.1", "view", "patron", 1, ("name",)))
    return app


def _empty_database_url(engine_name: str, tmp_path: Path, request) -> str:
    """A database with no tables at all, as on a new server."""
    if engine_name == "sqlite":
        return f"sqlite:///{tmp_path / 'restored.db'}"
    server = make_url(PG_URL)
    name = f"elibrary_restore_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    request.addfinalizer(drop)
    return server.set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def target_factory(tmp_path, request):
    apps = []

    def make(engine_name: str):
        url = _empty_database_url(engine_name, tmp_path, request)
        target = create_app(make_test_config(tmp_path / f"instance-{len(apps)}", url))
        apps.append(target)
        return target

    yield make
    for target in apps:
        target.extensions["elibrary"].db.dispose()


DERIVED_POSTGRESQL_TABLES = {table.name for metadata in POSTGRESQL_ONLY for table in metadata.tables.values()}


def _rows(engine) -> dict[str, list[tuple]]:
    """Every row of every table, values in the backup's normal form (so engines compare equal)."""
    out = {}
    with engine.connect() as conn:
        metadata = MetaData()
        metadata.reflect(bind=conn)
        for table in metadata.sorted_tables:
            if table.name == "alembic_version" or table.name in DERIVED_POSTGRESQL_TABLES:
                continue  # PostgreSQL's own search tables are derived data, rebuilt from the catalog on first use
            rows = conn.execute(select(table).order_by(*table.primary_key.columns))
            out[table.name] = [tuple(decode_value(encode_value(v)) for v in row) for row in rows]
    return out


def _files(storage) -> dict[str, bytes]:
    files = {}
    for key in storage.keys():
        with storage.open(key) as stream:
            files[key] = stream.read()
    return files


def _restore_through_cli(target, backup: Path, *args: str):
    return target.test_cli_runner().invoke(args=["backup", "restore", str(backup), *args])


def _signs_in(target) -> bool:
    client = target.test_client()
    response = client.post("/login", data={"card": DEMO_CARD, "pin": DEMO_PIN, "csrf_token": csrf_token_for(client)})
    return response.status_code == 303


def test_a_backup_restores_into_an_empty_instance_with_every_row_file_and_key(source, rt, target_factory, engine_name, tmp_path):
    result = source.test_cli_runner().invoke(args=["backup", "create", str(tmp_path / "backups")])
    assert result.exit_code == 0, result.output
    backup = Path(result.output.strip().splitlines()[-1])
    assert backup.parent == tmp_path / "backups" and backup.stat().st_mode & 0o077 == 0
    assert not list(backup.parent.glob(".*partial"))

    target = target_factory(engine_name)
    restored = _restore_through_cli(target, backup)
    assert restored.exit_code == 0, restored.output
    trt = target.extensions["elibrary"]

    before, after = _rows(rt.db.engine), _rows(trt.db.engine)
    assert after == before
    assert len(before["loans"]) >= 2 and len(before["patrons"]) >= 2 and len(before["audit_access_log"]) == 1
    assert _files(trt.storage) == _files(rt.storage)
    for name in ("secret_key", "data_key"):
        assert (Path(target.instance_path) / name).read_bytes() == (Path(source.instance_path) / name).read_bytes()
    assert (Path(target.instance_path) / name).stat().st_mode & 0o077 == 0
    # The instance's own generated keys were set aside, not lost.
    assert list(Path(target.instance_path).glob("keys-before-restore-*/data_key"))

    # The search index was rebuilt from the restored rows.
    assert trt.search.search(SearchQuery(text="郵便局")).ids == rt.search.search(SearchQuery(text="郵便局")).ids != []

    # A restarted app server reads the restored keys: the demo patron's encrypted card and PIN work, and the
    # access log verifies under the restored audit key against the anchor the manifest carried.
    with tarfile.open(backup) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert "keys/audit_key" in manifest["members"] and manifest["audit_anchor"]["id"] == before["audit_access_log"][-1][0]
    assert json.loads((Path(target.instance_path) / "audit_anchor").read_text()) == manifest["audit_anchor"]
    restarted = create_app(make_test_config(Path(target.instance_path), trt.db.url))
    try:
        assert "intact: 1 entries" in restarted.test_cli_runner().invoke(args=["audit", "verify"]).output
        assert _signs_in(restarted)
    finally:
        restarted.extensions["elibrary"].db.dispose()


@pytest.mark.skipif(not PG_URL, reason="ELIBRARY_TEST_DATABASE_URL is not set")
def test_a_sqlite_backup_restores_into_postgresql(engine_name, source, rt, target_factory, tmp_path):
    if engine_name != "sqlite":
        pytest.skip("moves an embedded (SQLite) installation to PostgreSQL")
    summary = create_backup(rt.db.engine, rt.storage, source.instance_path, tmp_path / "b")
    assert summary.revisions and summary.tables["titles"] == 32
    target = target_factory("postgresql")
    trt = target.extensions["elibrary"]
    restore_backup(summary.path, trt.db.engine, trt.db.write_engine, trt.storage, target.instance_path)
    assert _rows(trt.db.engine) == _rows(rt.db.engine)
    with trt.db.scope() as session:  # the sequences continue after the restored ids
        next_id = session.execute(text("INSERT INTO collections (code, name, name_en) VALUES ('x', 'x', 'x') RETURNING id")).scalar()
    assert next_id > max(row[0] for row in _rows(rt.db.engine)["collections"])


def _rewrite(backup: Path, out: Path, change) -> Path:
    """A copy of ``backup`` with ``change(name, data) -> (name, data) | None`` applied to each member."""
    with tarfile.open(backup) as src, tarfile.open(out, "w") as dst:
        for member in src.getmembers():
            changed = change(member.name, src.extractfile(member).read())
            if changed is None:
                continue
            name, data = changed
            info = tarfile.TarInfo(name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
    return out


def _damaged_file(name, data):
    return (name, data[:-1] + bytes([data[-1] ^ 1])) if name.startswith("files/books/") else (name, data)


def _escaping_name(name, data):
    return ("files/../../outside" if name.startswith("files/books/1/") else name, data)


def _future_schema(name, data):
    if name != "manifest.json":
        return name, data
    manifest = json.loads(data)
    manifest["revisions"].append("9999_future")
    return name, json.dumps(manifest).encode()


def _missing_member(name, data):
    return None if name.startswith("files/covers/") else (name, data)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_damaged_file, "checksum"),
        (_escaping_name, "unexpected entry"),
        (_future_schema, "newer version"),
        (_missing_member, "missing"),
    ],
)
def test_a_damaged_or_foreign_backup_is_refused_before_anything_changes(source, rt, tmp_path, change, reason):
    summary = create_backup(rt.db.engine, rt.storage, source.instance_path, tmp_path / "b")
    bad = _rewrite(summary.path, tmp_path / "bad.tar", change)
    before, files_before = _rows(rt.db.engine), _files(rt.storage)
    keys_before = (Path(source.instance_path) / "data_key").read_bytes()
    result = _restore_through_cli(source, bad, "--replace")
    assert result.exit_code == 1 and result.output.strip().splitlines()[-1].startswith("Error: ") and reason in result.output
    assert _rows(rt.db.engine) == before and _files(rt.storage) == files_before
    assert (Path(source.instance_path) / "data_key").read_bytes() == keys_before
    assert not (Path(source.instance_path).parent / "outside").exists()


def test_not_a_backup_is_refused_in_one_line(source, tmp_path):
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"this is not a tar file")
    result = _restore_through_cli(source, junk)
    assert result.exit_code == 1 and result.output.startswith("Error: cannot restore the backup")


def test_a_database_with_data_is_replaced_only_when_asked(source, rt, tmp_path):
    summary = create_backup(rt.db.engine, rt.storage, source.instance_path, tmp_path / "b")
    with rt.db.scope() as session:
        session.execute(text("UPDATE titles SET title = '書き換えた題名' WHERE id = 1"))
    refused = _restore_through_cli(source, summary.path)
    assert refused.exit_code == 1 and "--replace" in refused.output
    with rt.db.scope() as session:
        assert session.execute(text("SELECT title FROM titles WHERE id = 1")).scalar() == "書き換えた題名"
    replaced = _restore_through_cli(source, summary.path, "--replace")
    assert replaced.exit_code == 0, replaced.output
    with rt.db.scope() as session:
        assert session.execute(text("SELECT title FROM titles WHERE id = 1")).scalar() != "書き換えた題名"
    assert rt.search.search(SearchQuery(text="書き換えた題名")).ids == []


def damaged_by_duplicate_row(backup: Path, table: str) -> Path:
    """A copy of ``backup`` whose dump repeats the first row of ``table`` (checksums updated): it passes every
    check before loading, and loading fails on the duplicate key half-way through."""
    import gzip
    import hashlib

    with tarfile.open(backup) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    lines = gzip.decompress(members["database.jsonl.gz"]).splitlines(keepends=True)
    header = next(i for i, line in enumerate(lines) if json.loads(line)[:2] == ["table", table])
    lines.insert(header + 2, lines[header + 1])
    members["database.jsonl.gz"] = gzip.compress(b"".join(lines))
    manifest = json.loads(members.pop("manifest.json"))
    for name, data in members.items():
        manifest["members"][name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    members["manifest.json"] = json.dumps(manifest).encode()
    damaged = backup.with_name("damaged-" + backup.name)
    with tarfile.open(damaged, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return damaged


def test_a_replace_that_fails_while_loading_changes_nothing(source, rt, tmp_path):
    summary = create_backup(rt.db.engine, rt.storage, source.instance_path, tmp_path / "b")
    with rt.db.scope() as session:
        session.execute(text("UPDATE titles SET title = '書き換えた題名' WHERE id = 1"))
        titles = session.execute(text("SELECT count(*) FROM titles")).scalar()
    database_file = Path(rt.db.engine.url.database) if rt.db.is_sqlite else None
    for table in ("titles", "loans"):  # early in the dump, and late (after many tables were loaded)
        damaged = damaged_by_duplicate_row(summary.path, table)
        result = _restore_through_cli(source, damaged, "--replace")
        assert result.exit_code == 1 and "the database was not changed" in result.output, result.output
        assert result.output.strip().splitlines()[-1].startswith("Error: cannot restore") and "Traceback" not in result.output
        with rt.db.scope(write=False) as session:
            assert session.execute(text("SELECT title FROM titles WHERE id = 1")).scalar() == "書き換えた題名"
            assert session.execute(text("SELECT count(*) FROM titles")).scalar() == titles
        assert "intact" in source.test_cli_runner().invoke(args=["audit", "verify"]).output
        if database_file is not None:  # no half-built file is left beside the live one
            assert not [p for p in database_file.parent.iterdir() if ".restoring" in p.name]
    replaced = _restore_through_cli(source, summary.path, "--replace")
    assert replaced.exit_code == 0, replaced.output
    with rt.db.scope(write=False) as session:
        assert session.execute(text("SELECT title FROM titles WHERE id = 1")).scalar() != "書き換えた題名"
    if database_file is not None:
        assert database_file.stat().st_mode & 0o077 == 0


def test_without_keys_the_backup_holds_no_key_and_says_so(source, rt, tmp_path):
    result = source.test_cli_runner().invoke(args=["backup", "create", str(tmp_path / "b"), "--without-keys"])
    assert result.exit_code == 0 and "keys left out" in result.output
    backup = Path(result.output.strip().splitlines()[-1])
    with tarfile.open(backup) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert not [n for n in names if n.startswith("keys/")] and manifest["keys"] == []
    assert "database.jsonl.gz" in names and manifest["tables"]["titles"] == 32


@pytest.mark.parametrize(
    "value",
    [b"\x00\xffbytes", "文字列", 3, 2.5, None, True, {"a": [1, "二"]}, ["x"]],
)
def test_values_survive_the_encoding(value):
    assert decode_value(json.loads(json.dumps(encode_value(value)))) == value
