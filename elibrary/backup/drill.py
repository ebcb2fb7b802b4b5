"""A restore drill (``elibrary backup verify FILE``): restore into a scratch SQLite database, check, throw away.

The scratch instance is a temporary folder with a SQLite file, so a drill needs no right to create
databases on the PostgreSQL server (the dump is engine-independent). It checks, in order:

1. every member's size and SHA-256 (and, for a scheduled backup, every referenced object);
2. that the schema revisions are known to this version and the rows load (then upgrade to this version);
3. that each table holds as many rows as the manifest says;
4. that a sample patron's personal data decrypts with the backup's keys (or, for a backup made with
   ``--without-keys``, this instance's keys) and that its card number gives the stored lookup hash.

The folder is deleted afterwards whatever happened. A failure is a ``BackupError`` with a one-line reason.
"""
from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, func, select, text

from elibrary.backup.archive import DATABASE, POSTGRESQL_ONLY_TABLES, Progress
from elibrary.backup.restore import _bad, _check_revisions, _rebuild, object_store, read_manifest, verify_backup
from elibrary.db import make_engine
from elibrary.security.crypto import DecryptionError
from elibrary.security.keys import cipher_from_settings, load_key_ring


@dataclass
class DrillReport:
    """What a drill checked."""

    path: Path
    tables: int = 0
    rows: int = 0
    files: int = 0
    patron_checked: bool = False
    keys_from: str = "backup"  # "backup" or "instance"
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One line for the operator and the admin page."""
        patron = "a sample patron decrypts" if self.patron_checked else "no patron to sample"
        return f"verified {self.path.name}: {self.rows} rows in {self.tables} tables, {self.files} files, {patron} (keys from {self.keys_from})"


def verify_backup_file(path: str | os.PathLike, instance_settings: Mapping[str, Any], *, scratch_parent: str | None = None,
                       progress: Progress | None = None) -> DrillReport:
    """Run the drill on ``path`` (see the module documentation); raises ``BackupError`` on the first fault."""
    say = progress or (lambda _msg: None)
    report = DrillReport(path=Path(path))
    try:
        tar = tarfile.open(path, mode="r:")
    except (OSError, tarfile.TarError) as exc:
        raise _bad("ファイルを開けません", f"cannot open {path}: {exc}") from exc
    scratch = Path(tempfile.mkdtemp(prefix="elibrary-drill-", dir=scratch_parent))
    try:
        with tar:
            manifest = read_manifest(tar)
            say("checking checksums")
            verify_backup(tar, manifest, object_store(path, manifest))
            report.files = sum(1 for name in manifest["members"] if name.startswith("files/"))
            engine = make_engine(f"sqlite:///{scratch / 'scratch.db'}")
            try:
                _check_revisions(engine, manifest["revisions"])
                say("restoring into a scratch SQLite database")
                _rebuild(engine.execution_options(sqlite_begin="IMMEDIATE"), engine, manifest["revisions"], tar.extractfile(DATABASE), say,
                         downgrade_first=False)
                _check_counts(engine, manifest["tables"], report)
                cipher = _cipher(tar, manifest, scratch, instance_settings, report)
                report.patron_checked = _check_patron(engine, cipher)
            finally:
                engine.dispose()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return report


def _check_counts(engine, expected: Mapping[str, int], report: DrillReport) -> None:
    metadata = MetaData()
    with engine.connect() as conn:
        metadata.reflect(bind=conn)
        for name, count in expected.items():
            if name not in metadata.tables and name in POSTGRESQL_ONLY_TABLES:
                continue  # PostgreSQL's derived search tables: not restored into the drill's SQLite
            if name not in metadata.tables:
                raise _bad(f"表 {name} が復元されていません", f"table {name} was not restored")
            found = conn.execute(select(func.count()).select_from(metadata.tables[name])).scalar_one()
            if found != count:
                raise _bad(f"表 {name} の行数が合いません（{found} / {count}）", f"table {name} has {found} rows, the manifest says {count}")
            report.rows += found
    report.tables = len(expected)


def _cipher(tar: tarfile.TarFile, manifest: Mapping[str, Any], scratch: Path, instance_settings: Mapping[str, Any], report: DrillReport):
    if "data_key" not in manifest["keys"]:
        report.keys_from = "instance"
        return cipher_from_settings(instance_settings)
    keys = scratch / "keys"
    keys.mkdir(mode=0o700)
    for name in manifest["keys"]:
        fd = os.open(keys / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(tar.extractfile(f"keys/{name}").read())
    settings: dict[str, Any] = {"ELIBRARY_DATA_KEY": (keys / "data_key").read_text().strip()}
    load_key_ring(settings, str(keys))
    return cipher_from_settings(settings)


def _check_patron(engine, cipher) -> bool:
    """Decrypt the card number of the first patron and compare its lookup hash; False when there are none."""
    with engine.connect() as conn:
        row = conn.execute(text("SELECT card_hash, card_enc FROM patrons ORDER BY id LIMIT 1")).first()
    if row is None:
        return False
    try:
        card = cipher.decrypt(bytes(row.card_enc), "patron.card")
    except DecryptionError as exc:
        raise _bad("利用者の個人情報を鍵で復号できません", "a patron's personal data does not decrypt with the backup's keys") from exc
    if cipher.lookup_hash(card) != row.card_hash:
        raise _bad("利用者番号の照合用ハッシュが合いません（照合用の鍵が違います）", "a patron's card lookup hash does not match (wrong lookup key)")
    return True
