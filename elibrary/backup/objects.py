"""The content-addressed store of book files beside scheduled backups: each file kept once, by its SHA-256.

A scheduled backup (``elibrary.backup.schedule``) does not copy the book files into its tar file; its
manifest names each file's SHA-256 with ``"ref": true`` and the bytes live in ``<backup dir>/objects/
ab/abcdef...``. A file already stored by an earlier backup is only referenced, so a daily backup of a
large collection costs the database dump and the new files. Restore and ``backup verify`` follow the
references and check every object's size and checksum; retention removes objects no kept backup names.

Storage keys are content-addressed and never rewritten (``books/{id}/{sha256}.epub``, ``covers/…``), so
the store keeps an index of the keys it has seen (``objects/.keys.json``: key → size and SHA-256): a key
already backed up with the same size is referenced without reading the file again, and a nightly backup
of a large collection reads only the new files. Restore drills check every referenced object's checksum.

Copying a backup off the machine means copying its tar file *and* the ``objects`` folder (rsync keeps
the folder incremental too).
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20
DIR_NAME = "objects"
KEY_INDEX = ".keys.json"


class ObjectStore:
    """Files by SHA-256 under ``root`` (``ab/abcdef…``), written atomically, never rewritten."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self._known: dict[str, list] | None = None  # storage key -> [size, sha256], from the last backup
        self._seen: dict[str, list] = {}

    def _index(self) -> dict[str, list]:
        if self._known is None:
            try:
                loaded = json.loads((self.root / KEY_INDEX).read_text(encoding="utf-8"))
                self._known = loaded if isinstance(loaded, dict) else {}
            except (FileNotFoundError, ValueError):
                self._known = {}
        return self._known

    def known(self, key: str, size: int) -> str | None:
        """The SHA-256 of storage ``key`` if an earlier backup stored it at this size and its object is here."""
        entry = self._index().get(key)
        if isinstance(entry, list) and len(entry) == 2 and entry[0] == size and self.has(str(entry[1]), size):
            self._seen[key] = entry
            return str(entry[1])
        return None

    def remember(self, key: str, size: int, sha256: str) -> None:
        """Note that storage ``key`` is the object ``sha256`` (written by ``save_index``)."""
        self._seen[key] = [size, sha256]

    def save_index(self) -> None:
        """Write the keys seen in this backup (atomically), so the next one can skip reading them."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(self._seen, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.root / KEY_INDEX)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def path(self, sha256: str) -> Path:
        """Where the object of ``sha256`` lives (whether or not it exists)."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str, size: int) -> bool:
        """Whether the object is stored with the expected size."""
        try:
            return self.path(sha256).stat().st_size == size
        except FileNotFoundError:
            return False

    def add(self, stream: BinaryIO) -> tuple[str, int, bool]:
        """Store ``stream`` (seekable) unless an equal object is there: ``(sha256, size, newly stored)``.

        The stream is read once to hash it, and a second time only when its object is new.
        """
        digest, size = hashlib.sha256(), 0
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
        sha256 = digest.hexdigest()
        if self.has(sha256, size):
            return sha256, size, False
        stream.seek(0)
        target = self.path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                check = hashlib.sha256()
                while chunk := stream.read(CHUNK):
                    check.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if check.hexdigest() != sha256:
                raise OSError("the file changed while it was being backed up")
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return sha256, size, True

    def check(self, sha256: str, size: int) -> bool:
        """Whether the object is there, of ``size`` bytes, with that checksum (read whole)."""
        try:
            with self.path(sha256).open("rb") as stream:
                digest, seen = hashlib.sha256(), 0
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    seen += len(chunk)
        except (FileNotFoundError, ValueError):
            return False
        return seen == size and digest.hexdigest() == sha256

    def open(self, sha256: str) -> BinaryIO:
        """The object's bytes."""
        return self.path(sha256).open("rb")

    def prune(self, keep: Iterable[str]) -> int:
        """Delete every object not in ``keep`` (retention); how many went."""
        wanted = set(keep)
        removed = 0
        if not self.root.is_dir():
            return 0
        for path in self.root.glob("??/*"):
            if path.is_file() and not path.name.startswith(".") and path.name not in wanted:
                path.unlink()
                removed += 1
        return removed
