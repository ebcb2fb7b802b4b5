"""The book-file storage interface: bytes and streams under opaque keys.

Keys are built from ids and content hashes (``books/{title_id}/{sha256}.epub``), never from titles or
uploaded file names. Storage returns streams and knows nothing of HTTP; a view turns them into
responses. A local directory is the default; an S3-compatible store can replace it.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO, Protocol, runtime_checkable

KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_\-]*(/[a-z0-9][a-z0-9_.\-]*)*$")


class StorageError(Exception):
    """The store failed or refused an operation."""


class ObjectNotFound(StorageError):
    """No object under that key."""


def check_key(key: str) -> str:
    """Validate a storage key: lower-case ASCII path segments, no ``..``, no leading slash."""
    if not KEY_PATTERN.match(key) or ".." in key:
        raise StorageError(f"invalid storage key {key!r}")
    return key


@runtime_checkable
class BookStorage(Protocol):
    """Where book files, covers and their thumbnails are kept."""

    def put(self, key: str, stream: BinaryIO) -> int:
        """Store the stream's bytes under ``key`` atomically; returns the size written."""

    def open(self, key: str) -> BinaryIO:
        """A seekable binary stream of the object (raises ``ObjectNotFound``)."""

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""

    def size(self, key: str) -> int:
        """The object's size in bytes (raises ``ObjectNotFound``)."""

    def delete(self, key: str) -> None:
        """Remove the object if present."""

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every key starting with ``prefix`` (for backups and checks)."""

    def status(self) -> dict:
        """Health data for /healthz: ``{"ok": bool, ...}``."""
