"""Restoring a backup (``elibrary backup restore FILE [--replace]``): the live database is only replaced once
the backup has loaded completely.

Every checksum is checked before anything changes, and a database that already holds data is refused
unless ``--replace`` is given. Then the backup is loaded *beside* the live data and switched in only on
success, so a damaged dump, a constraint error or a full disk leaves the site as it was:

- PostgreSQL: one transaction on one connection (PostgreSQL's DDL is transactional) drops the schema,
  recreates it at the backup's revisions, loads every row and upgrades to this version's schema; it
  commits only at the end, and any failure rolls all of it back.
- SQLite: a new database file is built next to the live one (mode 0600), loaded, upgraded and
  checkpointed, then renamed over the live file in one step.

Afterwards the book files are written, the key files restored (differing current ones kept aside), and
the access log's anchor taken from the manifest (see ``elibrary.audit.chain``).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import json
import os
import shutil
import sqlite3
import tarfile
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import MetaData, Table, func, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from elibrary.backup.archive import (
    ALEMBIC_TABLE,
    CHUNK,
    DATABASE,
    FORMAT,
    KEY_FILES,
    KEY_PREFIX,
    MANIFEST,
    POSTGRESQL_ONLY_TABLES,
    BackupError,
    BackupSummary,
    Progress,
    _reflect,
    decode_value,
)
from elibrary.backup.objects import DIR_NAME as OBJECTS_DIR
from elibrary.backup.objects import ObjectStore
from elibrary.db import make_engine
from elibrary.migrate import alembic_config
from elibrary.selection import grams as pool_grams
from elibrary.storage.base import BookStorage, StorageError, check_key

BATCH = 1000


def _bad(reason_ja: str, reason_en: str) -> BackupError:
    return BackupError(f"バックアップを復元できません: {reason_ja}", f"cannot restore the backup: {reason_en}")


def read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    """The manifest of an opened backup, checked for format and shape."""
    try:
        member = tar.getmember(MANIFEST)
        manifest = json.loads(tar.extractfile(member).read())
    except (KeyError, ValueError, AttributeError) as exc:
        raise _bad("manifest.json がないか壊れています", "manifest.json is missing or damaged") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _bad("elibrary のバックアップではありません", f"not an {FORMAT} file")
    shapes = {"members": dict, "keys": list, "revisions": list, "tables": dict}
    if any(not isinstance(manifest.get(name), kind) for name, kind in shapes.items()) or not all(
        isinstance(m, dict) and isinstance(m.get("size"), int) and isinstance(m.get("sha256"), str)
        for m in manifest["members"].values()
    ):
        raise _bad("manifest.json の形が正しくありません", "manifest.json is malformed")
    return manifest


def _allowed_name(name: str) -> bool:
    if name == DATABASE:
        return True
    if name.startswith("files/"):
        try:
            check_key(name.removeprefix("files/"))
        except StorageError:
            return False
        return True
    key = name.removeprefix("keys/")
    return name.startswith("keys/") and (key in KEY_FILES or (key.startswith(KEY_PREFIX) and key[len(KEY_PREFIX):].isdigit()))


def object_store(path: str | os.PathLike, manifest: dict[str, Any]) -> ObjectStore | None:
    """The content-addressed store a scheduled backup's file references point into (beside the archive)."""
    folder = manifest.get("objects")
    if not folder:
        return None
    if folder != OBJECTS_DIR:
        raise _bad("参照先のフォルダー名が正しくありません", "the manifest names an unexpected object folder")
    return ObjectStore(Path(path).parent / folder)


def verify_backup(tar: tarfile.TarFile, manifest: dict[str, Any], objects: ObjectStore | None = None) -> None:
    """Check that every member listed is present, of its size and checksum, and that nothing else is.

    Members kept by reference (``"ref": true``) are checked in ``objects`` instead of the tar file.
    """
    expected = manifest["members"]
    seen = set()
    for name, entry in expected.items():
        if not entry.get("ref"):
            continue
        if not name.startswith("files/") or not _allowed_name(name):
            raise _bad(f"想定外の項目 {name}", f"unexpected entry {name!r}")
        if objects is None or not objects.check(entry["sha256"], entry["size"]):
            raise _bad(f"{name} の本体（objects フォルダー）がないか壊れています", f"{name} is missing or damaged in the objects folder")
        seen.add(name)
    for member in tar.getmembers():
        if member.name == MANIFEST:
            continue
        if member.name not in expected or expected[member.name].get("ref") or not member.isfile() or not _allowed_name(member.name):
            raise _bad(f"想定外の項目 {member.name}", f"unexpected entry {member.name!r}")
        digest = hashlib.sha256()
        stream = tar.extractfile(member)
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
        if member.size != expected[member.name]["size"] or digest.hexdigest() != expected[member.name]["sha256"]:
            raise _bad(f"{member.name} が壊れています", f"{member.name} is damaged (checksum mismatch)")
        seen.add(member.name)
    if missing := set(expected) - seen:
        raise _bad(f"{len(missing)} 項目が欠けています", f"{len(missing)} entries are missing, e.g. {sorted(missing)[0]}")
    if DATABASE not in seen:
        raise _bad("データベースがありません", "it holds no database")
    if any(f"keys/{name}" not in seen for name in manifest.get("keys", [])):
        raise _bad("鍵ファイルの一覧が合いません", "the list of key files does not match its entries")


def _check_revisions(engine: Engine, revisions: list[str]) -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine))
    for revision in revisions:
        try:
            script.get_revision(revision)
        except Exception as exc:
            raise _bad(
                f"このバージョンの elibrary が知らないスキーマ {revision} です（より新しい elibrary で作られました）",
                f"schema revision {revision} is unknown to this elibrary (the backup is from a newer version)",
            ) from exc


def _holds_data(engine: Engine) -> bool:
    with engine.connect() as conn:
        metadata = _reflect(conn)
        return any(
            conn.execute(select(1).select_from(t).limit(1)).first() is not None
            for t in metadata.sorted_tables
            if t.name != ALEMBIC_TABLE
        )


def _reset_sequences(conn: Connection, metadata: MetaData) -> None:
    # Rows were inserted with their ids; PostgreSQL's sequences must continue after the largest.
    for table in metadata.sorted_tables:
        for column in table.primary_key.columns:
            sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}).scalar()
            if sequence:
                top = conn.execute(select(func.max(column))).scalar()
                conn.execute(text("SELECT setval(:s, :v, :called)"), {"s": sequence, "v": top or 1, "called": top is not None})


def _load_rows(conn: Connection, dump: BinaryIO, progress: Progress) -> dict[str, int]:
    metadata = _reflect(conn)
    counts: dict[str, int] = {}
    table: Table | None = None
    columns: list[str] = []
    batch: list[dict[str, Any]] = []
    skipping = False

    def flush() -> None:
        if batch:
            conn.execute(insert(table), batch)
            batch.clear()

    with gzip.GzipFile(fileobj=dump, mode="rb") as gz:
        for line in gz:
            item = json.loads(line)
            if item and item[0] == "table" and len(item) == 3 and isinstance(item[2], list):
                flush()
                name, columns = item[1], item[2]
                if name not in metadata.tables and name in POSTGRESQL_ONLY_TABLES:
                    table, skipping = None, True  # derived data this database does not keep
                    counts[name] = 0
                    continue
                if name not in metadata.tables:
                    raise _bad(f"表 {name} がこのスキーマにありません", f"table {name} does not exist in this schema")
                table, skipping = metadata.tables[name], False
                if unknown := set(columns) - set(table.columns.keys()):
                    raise _bad(f"表 {name} の列 {sorted(unknown)} がありません", f"table {name} has no columns {sorted(unknown)}")
                counts[name] = 0
                progress(f"database: {name}")
                continue
            if skipping:
                continue
            if table is None or len(item) != len(columns):
                raise _bad("データベースの行が壊れています", "a database row is malformed")
            batch.append({c: decode_value(v) for c, v in zip(columns, item, strict=True)})
            counts[table.name] += 1
            if len(batch) >= BATCH:
                flush()
        flush()
    if conn.dialect.name == "postgresql":
        _reset_sequences(conn, metadata)
    return counts


def _migrate(conn: Connection, engine: Engine, *targets: str, downgrade_first: bool = False) -> None:
    """Run Alembic on ``conn`` inside its open transaction (``env.py`` then neither begins nor commits)."""
    from alembic import command

    config = alembic_config(engine)
    config.attributes["connection"] = conn
    if downgrade_first and ALEMBIC_TABLE in _reflect(conn).tables:
        command.downgrade(config, "base")  # also removes the functions and triggers migrations created
    _reflect(conn).drop_all(conn)  # whatever the migrations did not create
    for target in targets:
        command.upgrade(config, target)


def _load_failed(exc: Exception) -> BackupError:
    detail = " ".join(str(getattr(exc, "orig", exc)).split())[:300]  # one line: PostgreSQL adds a DETAIL line
    return _bad(
        f"行を読み込めませんでした（{exc.__class__.__name__}）。データベースは変更していません",
        f"loading the rows failed ({exc.__class__.__name__}: {detail}); the database was not changed",
    )


def _restore_postgresql(engine: Engine, write_engine: Engine, revisions: list[str], dump: BinaryIO, say: Progress) -> dict[str, int]:
    """Schema and rows in one transaction: committed only when everything loaded."""
    say("database: recreating the schema at the backup's revisions (one transaction)")
    return _rebuild(write_engine, engine, revisions, dump, say, downgrade_first=True)


def _rebuild(run_on: Engine, engine: Engine, revisions: list[str], dump: BinaryIO, say: Progress, *, downgrade_first: bool) -> dict[str, int]:
    """Schema at the backup's revisions, its rows, then this version's schema: one transaction on ``run_on``."""
    try:
        with run_on.connect() as conn, conn.begin():
            _migrate(conn, engine, *revisions, downgrade_first=downgrade_first)
            counts = _load_rows(conn, dump, say)
            say("database: upgrading to this version's schema")
            _migrate_up(conn, engine)
            if "selection_pool_grams" not in counts:  # a backup from SQLite: PostgreSQL's pool index is derived again
                pool_grams.rebuild_on(conn)
    except BackupError:
        raise
    except (SQLAlchemyError, ValueError, KeyError, OSError, EOFError, gzip.BadGzipFile) as exc:
        raise _load_failed(exc) from exc
    return counts


def _migrate_up(conn: Connection, engine: Engine) -> None:
    from alembic import command

    config = alembic_config(engine)
    config.attributes["connection"] = conn
    command.upgrade(config, "heads")  # an older backup is brought up to this version's schema


def _restore_sqlite(engine: Engine, revisions: list[str], dump: BinaryIO, say: Progress) -> dict[str, int]:
    """Build a new database file beside the live one; rename it over the live file only when complete."""
    live = engine.url.database
    if not live or live == ":memory:":
        raise _bad("メモリ上のデータベースには復元できません", "cannot restore into an in-memory database")
    live_path = Path(live)
    fresh = live_path.with_name(f".{live_path.name}.restoring-{os.getpid()}")
    _remove_sqlite_files(fresh)
    os.close(os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    new_engine = make_engine(f"sqlite:///{fresh}")
    try:
        say("database: building a new database file at the backup's revisions")
        counts = _rebuild(new_engine.execution_options(sqlite_begin="IMMEDIATE"), new_engine, revisions, dump, say, downgrade_first=False)
        new_engine.dispose()
        _checkpoint(fresh)
    except BaseException:
        new_engine.dispose()
        _remove_sqlite_files(fresh)
        raise
    say("database: switching to the restored file")
    engine.dispose()
    if live_path.exists():
        _checkpoint(live_path)  # nothing of the old file may stay in a WAL beside the new one
    for suffix in ("-wal", "-shm"):
        Path(f"{live_path}{suffix}").unlink(missing_ok=True)
    os.replace(fresh, live_path)
    return counts


def _checkpoint(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _remove_sqlite_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def restore_backup(
    path: str | os.PathLike,
    engine: Engine,
    write_engine: Engine,
    storage: BookStorage,
    instance_path: str | os.PathLike,
    *,
    replace: bool = False,
    progress: Progress | None = None,
) -> BackupSummary:
    """Restore a backup made by ``create_backup`` (see the module documentation for the order of checks).

    ``write_engine`` is the engine whose transactions take SQLite's write lock at once (``Database.write_engine``).
    """
    say = progress or (lambda _msg: None)
    instance = Path(instance_path)
    summary = BackupSummary(path=Path(path))
    try:
        tar = tarfile.open(path, mode="r:")
    except (OSError, tarfile.TarError) as exc:
        raise _bad("ファイルを開けません", f"cannot open {path}: {exc}") from exc
    with tar:
        manifest = read_manifest(tar)
        objects = object_store(path, manifest)
        say("checking checksums")
        verify_backup(tar, manifest, objects)
        _check_revisions(engine, manifest["revisions"])
        if not replace and _holds_data(engine):
            raise _bad(
                "データベースに既にデータがあります（置き換えるには --replace）",
                "the database already holds data (add --replace to overwrite it)",
            )
        dump = tar.extractfile(DATABASE)
        if engine.dialect.name == "sqlite":
            summary.tables = _restore_sqlite(engine, manifest["revisions"], dump, say)
        else:
            summary.tables = _restore_postgresql(engine, write_engine, manifest["revisions"], dump, say)
        summary.revisions = manifest["revisions"]
        for member in tar.getmembers():
            if member.name.startswith("files/"):
                key = check_key(member.name.removeprefix("files/"))
                summary.file_bytes += storage.put(key, tar.extractfile(member))
                summary.files += 1
        for name, entry in manifest["members"].items():
            if entry.get("ref"):
                with objects.open(entry["sha256"]) as stream:
                    summary.file_bytes += storage.put(check_key(name.removeprefix("files/")), stream)
                summary.files += 1
        say(f"files: {summary.files} ({summary.file_bytes} bytes)")
        _restore_keys(tar, manifest, instance)
        summary.keys = list(manifest["keys"])
        anchor = manifest.get("audit_anchor")
        summary.audit_anchor = anchor if isinstance(anchor, dict) else None
    return summary


def _restore_keys(tar: tarfile.TarFile, manifest: dict[str, Any], instance: Path) -> None:
    """Write the backup's key files; any differing current ones are kept aside, never deleted."""
    if not manifest["keys"]:
        return
    aside = instance / f"keys-before-restore-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}"
    instance.mkdir(parents=True, exist_ok=True)
    for name in manifest["keys"]:
        data = tar.extractfile(f"keys/{name}").read()
        target = instance / name
        if target.exists():
            if target.read_bytes() == data:
                continue
            aside.mkdir(mode=0o700, exist_ok=True)
            shutil.copy2(target, aside / name)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
