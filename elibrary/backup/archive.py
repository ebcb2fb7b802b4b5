"""Backups: one tar file holding a consistent copy of the database, the book files and the keys.

Layout of ``elibrary-backup-<UTC time>.tar`` (written as ``.partial`` and renamed when complete, mode 0600):

- ``manifest.json``      format, elibrary version, creation time, database engine and schema revisions, row
                         counts per table, and the size and SHA-256 of every other member;
- ``database.jsonl.gz``  every table read in one snapshot transaction (REPEATABLE READ on PostgreSQL, a read
                         transaction of the WAL on SQLite), so the copy is consistent while the site runs.
                         It is a logical dump, independent of the engine: a SQLite backup restores into
                         PostgreSQL (the way to move an embedded installation to production);
- ``files/<key>``        every object of the book storage (books, covers), streamed, never read whole; in a
                         scheduled backup the manifest names them by SHA-256 (``"ref": true``) and the bytes
                         are in the content-addressed store beside the archives (``elibrary.backup.objects``);
- ``keys/<name>``        the instance's key files (session secret, data keys of every version, lookup key).
                         Personal data in the dump is encrypted with them, so the two belong together; with
                         ``include_keys=False`` they are left out and must be kept by the operator.

The search index is not copied: it is derived from the database, and a copy taken beside a running
indexer could be older or newer than the database snapshot. Restore rebuilds it from the restored data.

The manifest also carries ``audit_anchor``: the access log's newest entry in the snapshot (id and keyed
hash), the anchor outside the database that ``elibrary audit verify`` checks after a restore.

Restoring is ``elibrary.backup.restore``.
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
import tarfile
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import MetaData, inspect, select, text
from sqlalchemy.engine import Connection, Engine

from elibrary.backup.objects import DIR_NAME as OBJECTS_DIR
from elibrary.backup.objects import ObjectStore
from elibrary.errors import DomainError
from elibrary.storage.base import BookStorage

FORMAT = "elibrary-backup/1"
MANIFEST = "manifest.json"
DATABASE = "database.jsonl.gz"
ALEMBIC_TABLE = "alembic_version"
# Tables only a PostgreSQL database has (its own search index, the pool's character index): derived from the
# catalog and the pool, so a restore into SQLite (a restore drill, a move) leaves them out.
POSTGRESQL_ONLY_TABLES = frozenset({"search_documents", "search_terms", "selection_pool_grams"})
# The instance files that hold keys (see ``elibrary.config.ensure_keys`` and ``elibrary.security.keys``).
KEY_FILES = ("secret_key", "data_key", "data_key.version", "lookup_key", "audit_key")
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
    new_files: int = 0  # book files stored for the first time (all of them in a self-contained backup)
    new_bytes: int = 0
    size: int = 0  # bytes of the tar file
    revisions: list[str] = field(default_factory=list)
    audit_anchor: dict[str, Any] | None = None  # the access log's newest entry: {"id": ..., "hash": ...}


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


def _audit_anchor(conn: Connection) -> dict[str, Any] | None:
    """The access log's newest entry in this snapshot (see ``elibrary.audit.chain``)."""
    if not inspect(conn).has_table("audit_access_log"):
        return None  # a database from before the access log
    row = conn.execute(text("SELECT id, entry_hash FROM audit_access_log ORDER BY id DESC LIMIT 1")).first()
    return {"id": row.id, "hash": row.entry_hash} if row is not None else None


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
    return f"elibrary-backup-{now.astimezone(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}.tar"


def create_backup(
    engine: Engine,
    storage: BookStorage,
    instance_path: str | os.PathLike,
    dest_dir: str | os.PathLike,
    *,
    include_keys: bool = True,
    version: str = "",
    progress: Progress | None = None,
    now: dt.datetime | None = None,
    objects: ObjectStore | None = None,
) -> BackupSummary:
    """Write a backup into ``dest_dir``; the file appears only when complete.

    With ``objects`` (``dest_dir/objects``) book files go to that content-addressed store, each once,
    and the archive only names them (an incremental backup).
    """
    say = progress or (lambda _msg: None)
    now = now or dt.datetime.now(dt.UTC)
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
                    summary.audit_anchor = _audit_anchor(conn)
                size = dump.tell()
                dump.seek(0)
                members[DATABASE] = {"size": size, "sha256": _add_stream(tar, DATABASE, dump, size, now.timestamp())}
                say(f"database: {sum(summary.tables.values())} rows in {len(summary.tables)} tables")
            for key in sorted(storage.keys()):
                name = f"files/{key}"
                if objects is not None:
                    size = storage.size(key)
                    sha256, new = objects.known(key, size), False
                    if sha256 is None:  # not in an earlier backup (keys are content-addressed: a known key is unchanged)
                        with storage.open(key) as stream:
                            sha256, size, new = objects.add(stream)
                        objects.remember(key, size, sha256)
                    members[name] = {"size": size, "sha256": sha256, "ref": True}
                    summary.new_files += new
                    summary.new_bytes += size if new else 0
                else:
                    size = storage.size(key)
                    with storage.open(key) as stream:
                        members[name] = {"size": size, "sha256": _add_stream(tar, name, stream, size, now.timestamp())}
                    summary.new_files += 1
                    summary.new_bytes += size
                summary.files += 1
                summary.file_bytes += size
                if summary.files % 100 == 0:
                    say(f"files: {summary.files}")
            say(f"files: {summary.files} ({summary.file_bytes} bytes, {summary.new_files} new)")
            if objects is not None:
                objects.save_index()
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
                "audit_anchor": summary.audit_anchor,
                "members": members,
                "objects": OBJECTS_DIR if objects is not None else None,
            }
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
            _add_stream(tar, MANIFEST, io.BytesIO(data), len(data), now.timestamp())
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, final)
        summary.size = final.stat().st_size
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return summary
