"""Storage in a directory on local disk (the default, under the instance folder)."""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from elibrary.storage.base import ObjectNotFound, check_key

CHUNK = 1024 * 1024


class LocalStorage:
    """Objects as files below ``root``; writes go to a temporary file and are renamed into place."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "LocalStorage":
        """Build from ``ELIBRARY_STORAGE_PATH``."""
        return cls(settings["ELIBRARY_STORAGE_PATH"])

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def put(self, key: str, stream: BinaryIO) -> int:
        """Store atomically: a reader never sees a half-written file."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return size

    def open(self, key: str) -> BinaryIO:
        """Open for reading."""
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def exists(self, key: str) -> bool:
        """Whether the file exists."""
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        """File size in bytes."""
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def delete(self, key: str) -> None:
        """Remove the file if present."""
        self._path(key).unlink(missing_ok=True)

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Walk the tree, skipping unfinished uploads."""
        if not self.root.exists():
            return
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.startswith(".incoming-"):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key

    def status(self) -> dict:
        """Writable root and free space."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            writable = os.access(self.root, os.W_OK)
            free = shutil.disk_usage(self.root).free
        except OSError as exc:
            return {"ok": False, "error": type(exc).__name__}
        return {"ok": writable and free > 100 * 1024 * 1024, "free_bytes": free}
