"""In-memory storage: the fake for tests and throwaway demos."""
from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

from elibrary.storage.base import ObjectNotFound, check_key


class MemoryStorage:
    """Objects in a dict; behaves like ``LocalStorage`` including key validation."""

    def __init__(self) -> None:
        self._objects: dict[str, bytes] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "MemoryStorage":
        """Settings are ignored."""
        return cls()

    def put(self, key: str, stream: BinaryIO) -> int:
        """Read the whole stream and keep it."""
        data = stream.read()
        with self._lock:
            self._objects[check_key(key)] = data
        return len(data)

    def open(self, key: str) -> BinaryIO:
        """A BytesIO over a copy of the object."""
        try:
            return io.BytesIO(self._objects[check_key(key)])
        except KeyError:
            raise ObjectNotFound(key) from None

    def exists(self, key: str) -> bool:
        """Whether the key is present."""
        return check_key(key) in self._objects

    def size(self, key: str) -> int:
        """Length of the stored bytes."""
        try:
            return len(self._objects[check_key(key)])
        except KeyError:
            raise ObjectNotFound(key) from None

    def delete(self, key: str) -> None:
        """Forget the key."""
        with self._lock:
            self._objects.pop(check_key(key), None)

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Sorted keys with the prefix."""
        yield from sorted(k for k in list(self._objects) if k.startswith(prefix))

    def status(self) -> dict:
        """Always healthy."""
        return {"ok": True, "objects": len(self._objects)}
