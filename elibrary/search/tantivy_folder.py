"""A tantivy index in a folder of this server, following the commits of every process that writes it.

The catalog's tantivy backend and the book-text index (本文検索) keep their indexes the same way: opened
lazily, reloaded when another process committed (``meta.json`` is replaced by every commit: a new inode,
even within one clock tick), written through one short-lived writer per change (a busy writer lock is
``SearchUnavailable``: the change log keeps the change for the next pass), and rebuilt beside the old folder,
then swapped in so searches keep answering meanwhile.

A folder may carry a *format* (``FORMAT_FILE`` inside it): the name of the schema and analysis that wrote
it. An index written under another format (an older version of the code; before formats, none) is
``IndexOutdated`` rather than opened: its fields and tokens are not what the code asks for, and it must be
rebuilt from the database (``catalog.indexing`` does so by itself).
"""
from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import tantivy

from elibrary.search.base import SearchUnavailable

FORMAT_FILE = "elibrary-format.txt"  # beside tantivy's files, which its garbage collection leaves alone


class IndexOutdated(SearchUnavailable):
    """The index was written under another format (an older version of the code): it must be rebuilt."""


class TantivyFolder:
    """The index at ``path`` (``what`` names it in errors); ``prepare`` registers custom tokenizers on each open."""

    def __init__(self, path: Path, schema: tantivy.Schema, *, writer_heap: int, what: str = "search index",
                 prepare: Callable[[tantivy.Index], None] | None = None, format: str | None = None) -> None:
        self.path = path
        self.format = format  # None: not checked
        self.schema = schema
        self.writer_heap = writer_heap
        self.what = what
        self._prepare = prepare
        self._lock = threading.Lock()
        self._index: tantivy.Index | None = None
        self._seen_meta: tuple[int, int, int] | None = None

    def new_index(self, path: Path, *, reuse: bool) -> tantivy.Index:
        """A tantivy index of this schema in ``path`` (a new, empty one unless ``reuse``)."""
        index = tantivy.Index(self.schema, path=str(path), reuse=reuse)
        if self._prepare is not None:
            self._prepare(index)
        return index

    def mark(self, path: Path) -> None:
        """Record this folder's format in the index at ``path`` (a new one)."""
        if self.format is not None:
            (path / FORMAT_FILE).write_text(self.format + "\n", encoding="utf-8")

    def outdated(self) -> bool:
        """True when the folder holds an index written under another format than this one's."""
        if self.format is None or not (self.path / "meta.json").exists():
            return False
        try:
            return (self.path / FORMAT_FILE).read_text(encoding="utf-8").strip() != self.format
        except FileNotFoundError:
            return True  # written before formats were recorded

    def open(self) -> tantivy.Index:
        """The index, with every commit made so far by any process visible."""
        with self._lock:
            if self._index is None:
                self.path.mkdir(parents=True, exist_ok=True)
                if self.outdated():
                    raise IndexOutdated(f"the {self.what} was written by an older version and must be rebuilt")
                fresh = not (self.path / "meta.json").exists()
                try:
                    self._index = self.new_index(self.path, reuse=True)
                    if fresh:
                        self.mark(self.path)
                except ValueError as exc:
                    raise SearchUnavailable(f"the {self.what} cannot be opened: {exc}") from None
            changed = meta_signature(self.path / "meta.json")
            if changed != self._seen_meta:  # a commit (this worker's or another's): read its segments
                self._index.reload()
                self._seen_meta = changed
            return self._index

    def write(self, change: Callable[[tantivy.IndexWriter], None]) -> None:
        """Apply ``change`` with a writer and commit it; visible to this process's searches once this returns."""
        index = self.open()
        try:
            writer = index.writer(self.writer_heap, 1)
        except ValueError as exc:  # another process holds the index's writer lock: the change log keeps the change
            raise SearchUnavailable(f"the {self.what} is busy: {exc}") from None
        try:
            change(writer)
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise
        with self._lock:  # this worker's own commit is visible at once, whatever the file times say
            index.reload()
            self._seen_meta = meta_signature(self.path / "meta.json")

    def swap_in(self, fresh: Path) -> None:
        """Replace the index folder with ``fresh`` (a complete index built beside it, in this folder's format)."""
        self.mark(fresh)
        with self._lock:
            old = self.path.with_name(self.path.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            if self.path.exists():
                os.replace(self.path, old)
            os.replace(fresh, self.path)
            shutil.rmtree(old, ignore_errors=True)
            self._index, self._seen_meta = None, None

    def close(self) -> None:
        """Let go of the index (files are reopened on the next use)."""
        with self._lock:
            self._index, self._seen_meta = None, None


def meta_signature(meta: Path) -> tuple[int, int, int] | None:
    """What changes with every commit: tantivy replaces ``meta.json`` (a new inode), even within one clock tick."""
    try:
        stat = meta.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size
