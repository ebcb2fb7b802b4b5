"""Where an index is in the change log (``search_queue``): each index keeps its own position.

Several app servers share one database but each has its own index, so no server may consume the
shared change log for the others: every index remembers the last change it applied (and when it last
followed the log) beside its own files, and ``catalog.indexing`` applies the changes past it.
"""
from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from elibrary.search.base import LogPosition


class MemoryPositions:
    """The position of an in-memory index (lost with it, as the index is)."""

    def __init__(self) -> None:
        self._position: LogPosition | None = None
        self._lock = threading.Lock()

    def read(self) -> LogPosition | None:
        """The recorded position, None if none was."""
        return self._position

    def write(self, position: LogPosition) -> None:
        """Record a position."""
        self._position = position

    @contextmanager
    def following(self) -> Iterator[None]:
        """One follower of the log at a time for this index."""
        with self._lock:
            yield


class FilePositions:
    """A position kept in a small JSON file beside an index folder (not inside: a rebuild may clear the folder).

    ``following`` holds an exclusive lock on a file beside it, so the workers of one server (which share
    the index) follow the log one at a time, and a rebuild's position is never overwritten by a pass
    that applied changes to the index the rebuild replaced.
    """

    def __init__(self, index_path: str | os.PathLike) -> None:
        index_path = Path(index_path)
        self.path = index_path.with_name(index_path.name + ".log-position.json")
        self._lock_path = index_path.with_name(index_path.name + ".follow.lock")
        self._thread_lock = threading.Lock()

    def read(self) -> LogPosition | None:
        """The recorded position; None if the file is missing or unreadable (the caller recovers)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return LogPosition(change_id=int(data["change_id"]), at=float(data["at"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, position: LogPosition) -> None:
        """Record a position atomically (a reader sees the old file or the new one)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps({"change_id": position.change_id, "at": position.at}), encoding="utf-8")
        os.replace(tmp, self.path)

    @contextmanager
    def following(self) -> Iterator[None]:
        """Exclusive among the threads and processes using this index."""
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        with self._thread_lock, open(self._lock_path, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
