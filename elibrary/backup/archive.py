"""Backups: one tar file holding a consistent copy of the database, the book files and the keys.

Layout of ``elibrary-backup-<UTC time>.tar`` (written as ``.partial`` and renamed when complete, mode 0600):

- ``manifest.json``      format, elibrary version, creation time, database engine and schema revisions, row
                         counts per table, and the size and SHA-256 of every other member;
- ``database.jsonl.gz``  every table read in one snapshot transaction (REPEATABLE READ on PostgreSQL, a read
                         transaction of the WAL on SQLite), so the copy is consistent while the site runs.
                         It is a logical dump, independent of the engine: a SQLite backup restores into
                         PostgreSQL (the way to move an embedded installation to production);
- ``files/<key>``        every object of the book storage (books, covers), streamed, never read whole;
- ``keys/<name>``        the instance's key files (session secret, data keys of every version, lookup key).
                         Personal data in the dump is encrypted with them, so the two belong together; with
                         ``include_keys=False`` they are left out and must be kept by the operator.

The search index is not copied: it is derived from the database, and a copy taken beside a running
indexer could be older or newer than the database snapshot. Restore rebuilds it from the restored data.

Restore checks every checksum before it changes anything, refuses a database that already holds data
unless told to replace it, recreates the schema at the backup's revisions, loads the rows in one
transaction, then upgrades to this version's schema (so an old backup restores into a newer elibrary).
"""
from __future__ import annotations

import base64
import contextlib
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import MetaData, Table, func, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from elibrary.errors import DomainError
from elibrary.migrate import alembic_config, upgrade_database
from elibrary.storage.base import BookStorage, StorageError, check_key

FORMAT = "elibrary-backup/1"
MANIFEST = "manifest.json"
DATABASE = "database.jsonl.gz"
ALEMBIC_TABLE = "alembic_version"
# The instance files that hold keys (see ``elibrary.config.ensure_keys`` and ``elibrary.security.keys``).
KEY_FILES = ("secret_key", "data_key", "data_key.version", "lookup_key")
KEY_PREFIX = "data_key.v"
BATCH = 1000
CHUNK = 1 << 20

Progress = Callable[[str], None]


class BackupError(DomainError):
    """A backup could not be written or restored."""

    code = "backup"


@dataclass
class BackupSummary:
    """What a backup holds or what a restore did."""

    path: Path
    tables: dict[str, int] = field(default_factory=dict)
    files: int = 0
    file_bytes: int = 0
    keys: list[str] = field(default_factory=list)
    revisions: list[str] = field(default_factory=list)


# -- values ---------------------------------------------------------------------------------------------
def encode_value(value: Any) -> Any:
    """A JSON-safe form of a column value; types JSON lacks are tagged so they come back unchanged."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$b": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dt.datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$d": value.isoformat()}
    if isinstance(value, dt.time):
        return {"$t": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$n": str(value)}
    if isinstance(value, uuid.UUID):
        return {"$u": str(value)}
    if isinstance(value, dict):
        return {"$j": value}  # a JSON column: kept apart from the tags above
    return value


def _utc(value: str) -> dt.datetime:
    # Every timestamp elibrary stores is UTC (``elibrary.db.UTCDateTime``); SQLite hands them back without
    # a zone and PostgreSQL in the session's zone, so both are made UTC-aware (the same instant).
    moment = dt.datetime.fromisoformat(value)
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "$b": base64.b64decode,
    "$dt": _utc,
    "$d": dt.date.fromisoformat,
    "$t": dt.time.fromisoformat,
    "$n": Decimal,
    "$u": uuid.UUID,
    "$j": lambda v: v,
}


def decode_value(value: Any) -> Any:
    """The inverse of ``encode_value``."""
    if isinstance(value, dict):
        ((tag, raw),) = value.items()
        return _DECODERS[tag](raw)
    return value


# -- creating -------------------------------------------------------------------------------------------
def _reflect(conn: Connection) -> MetaData:
    metadata = MetaData()
    metadata.reflect(bind=conn)
    return metadata


@contextlib.contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection inside one read-only transaction that sees a single snapshot of every table."""
    postgresql = engine.dialect.name == "postgresql"
    conn = engine.connect()
    if postgresql:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    try:
        with conn.begin():  # SQLite (WAL): BEGIN DEFERRED; the first read fixes the snapshot
            if postgresql:
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            yield conn
    finally:
        conn.close()


def _line(item: Any) -> bytes:
    return json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def _dump_database(conn: Connection, out: BinaryIO) -> tuple[dict[str, int], list[str]]:
    """Write every table to ``out`` (gzip JSON lines); returns row counts and the schema revisions."""
    metadata = _reflect(conn)
    if ALEMBIC_TABLE not in metadata.tables:
        raise BackupError("データベースが初期化されていません（elibrary init）。", "The database is not initialised (run elibrary init).")
    revisions = sorted(conn.execute(text(f"SELECT version_num FROM {ALEMBIC_TABLE}")).scalars())
    counts: dict[str, int] = {}
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=6) as gz:
        for table in metadata.sorted_tables:
            if table.name == ALEMBIC_TABLE:
                continue
            columns = [c.name for c in table.columns]
            gz.write(_line(["table", table.name, columns]))
            query = select(table).order_by(*table.primary_key.columns)
            count = 0
            for row in conn.execution_options(stream_results=True, yield_per=BATCH).execute(query):
                gz.write(_line([encode_value(v) for v in row]))
                count += 1
            counts[table.name] = count
    return counts, revisions


class _Hashing(io.RawIOBase):
    """Reads through a stream, hashing what passes (so a file is read once while it is archived)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.sha256.update(data)
        return data


def _add_stream(tar: tarfile.TarFile, name: str, stream: BinaryIO, size: int, mtime: float) -> str:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, int(mtime)
    hashing = _Hashing(stream)
    tar.addfile(info, hashing)
    return hashing.sha256.hexdigest()


def _key_files(instance_path: Path) -> list[Path]:
    names = [instance_path / n for n in KEY_FILES]
    names += sorted(instance_path.glob(f"{KEY_PREFIX}*"))
    return [p for p in names if p.is_file()]


def backup_name(now: dt.datetime) -> str:
    """The file name of a backup taken at ``now`` (UTC)."""
    return f"elibrary-backup-{now.strftime('%Y%m%dT%H%M%SZ')}.tar"


def create_backup(
    engine: Engine,
    storage: BookStorage,
    instance_path: str | os.PathLike,
    dest_dir: str | os.PathLike,
    *,
    include_keys: bool = True,
    version: str = "",
    progress: Progress | None = None,
) -> BackupSummary:
    """Write a backup into ``dest_dir``; the file appears only when complete."""
    say = progress or (lambda _msg: None)
    now = dt.datetime.now(dt.UTC)
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    final = dest / backup_name(now)
    if final.exists():
        raise BackupError(f"{final} は既にあります。", f"{final} already exists.")
    partial = final.with_name("." + final.name + ".partial")
    members: dict[str, dict[str, Any]] = {}
    summary = BackupSummary(path=final)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:", format=tarfile.PAX_FORMAT) as tar:
            with tempfile.TemporaryFile(dir=dest) as dump:
                say("database: reading one snapshot")
                with _snapshot(engine) as conn:
                    summary.tables, summary.revisions = _dump_database(conn, dump)
                size = dump.tell()
                dump.seek(0)
                members[DATABASE] = {"size": size, "sha256": _add_stream(tar, DATABASE, dump, size, now.timestamp())}
                say(f"database: {sum(summary.tables.values())} rows in {len(summary.tables)} tables")
            for key in sorted(storage.keys()):
                size = storage.size(key)
                with storage.open(key) as stream:
                    name = f"files/{key}"
                    members[name] = {"size": size, "sha256": _add_stream(tar, name, stream, size, now.timestamp())}
                summary.files += 1
                summary.file_bytes += size
                if summary.files % 100 == 0:
                    say(f"files: {summary.files}")
            say(f"files: {summary.files} ({summary.file_bytes} bytes)")
            if include_keys:
                for path in _key_files(Path(instance_path)):
                    name = f"keys/{path.name}"
                    with path.open("rb") as stream:
                        size = os.fstat(stream.fileno()).st_size
                        members[name] = {"size": size, "sha256": _add_stream(tar, name, stream, size, now.timestamp())}
                    summary.keys.append(path.name)
            manifest = {
                "format": FORMAT,
                "elibrary": version,
                "created": now.isoformat(),
                "engine": engine.dialect.name,
                "revisions": summary.revisions,
                "tables": summary.tables,
                "keys": summary.keys,
                "members": members,
            }
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
            _add_stream(tar, MANIFEST, io.BytesIO(data), len(data), now.timestamp())
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return summary


# -- restoring ------------------------------------------------------------------------------------------
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


def verify_backup(tar: tarfile.TarFile, manifest: dict[str, Any]) -> None:
    """Check that every member listed is present, of its size and checksum, and that nothing else is."""
    expected = manifest["members"]
    seen = set()
    for member in tar.getmembers():
        if member.name == MANIFEST:
            continue
        if member.name not in expected or not member.isfile() or not _allowed_name(member.name):
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
                if name not in metadata.tables:
                    raise _bad(f"表 {name} がこのスキーマにありません", f"table {name} does not exist in this schema")
                table = metadata.tables[name]
                if unknown := set(columns) - set(table.columns.keys()):
                    raise _bad(f"表 {name} の列 {sorted(unknown)} がありません", f"table {name} has no columns {sorted(unknown)}")
                counts[name] = 0
                progress(f"database: {name}")
                continue
            if table is None or len(item) != len(columns):
                raise _bad("データベースの行が壊れています", "a database row is malformed")
            batch.append({c: decode_value(v) for c, v in zip(columns, item)})
            counts[table.name] += 1
            if len(batch) >= BATCH:
                flush()
        flush()
    if conn.dialect.name == "postgresql":
        _reset_sequences(conn, metadata)
    return counts


def _recreate_schema(engine: Engine, revisions: list[str]) -> None:
    from alembic import command

    config = alembic_config(engine)
    if engine.dialect.name != "sqlite":
        with engine.connect() as conn:
            migrated = ALEMBIC_TABLE in _reflect(conn).tables
        if migrated:
            command.downgrade(config, "base")  # also removes the functions and triggers migrations created
    with engine.begin() as conn:
        _reflect(conn).drop_all(conn)  # SQLite: tables are all there is (its downgrades copy whole tables)
    for revision in revisions:
        command.upgrade(config, revision)


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
        say("checking checksums")
        verify_backup(tar, manifest)
        _check_revisions(engine, manifest["revisions"])
        if not replace and _holds_data(engine):
            raise _bad(
                "データベースに既にデータがあります（置き換えるには --replace）",
                "the database already holds data (add --replace to overwrite it)",
            )
        say("database: recreating the schema at the backup's revisions")
        _recreate_schema(engine, manifest["revisions"])
        try:
            with write_engine.begin() as conn:
                summary.tables = _load_rows(conn, tar.extractfile(DATABASE), say)
        except SQLAlchemyError as exc:
            raise _bad(
                f"行を読み込めませんでした（{exc.__class__.__name__}）。データベースは空です。ファイルと鍵は変更していません",
                f"loading the rows failed ({exc.__class__.__name__}: {getattr(exc, 'orig', exc)}); the database is left"
                " empty at the backup's schema, files and keys are unchanged",
            ) from exc
        upgrade_database(engine)  # an older backup is brought up to this version's schema
        summary.revisions = manifest["revisions"]
        for member in tar.getmembers():
            if member.name.startswith("files/"):
                key = check_key(member.name.removeprefix("files/"))
                summary.file_bytes += storage.put(key, tar.extractfile(member))
                summary.files += 1
        say(f"files: {summary.files} ({summary.file_bytes} bytes)")
        _restore_keys(tar, manifest, instance)
        summary.keys = list(manifest["keys"])
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
