"""A large tantivy rebuild on both cores: helper processes analyse and index parts of the catalog, one index each.

Our Python analysis of each record (``search.documents``) is most of a rebuild's cost, and tantivy allows one
writer per index. So past ``HELPER_AFTER`` titles the rebuilding process only reads the documents and hands
batches to ``HELPERS`` child processes in turn; each analyses its batches and writes them with a tantivy
writer of its own into a folder of its own. ``combine`` then moves every helper's segment files into the new
index folder and writes one ``meta.json`` listing all segments (tantivy's own format: its segments are
self-contained files named by a UUID, and ``meta.json`` is the index's table of contents), so the new index
is complete at once, and nothing is listed until everything is written.

Helpers are ``search.helper_process.RebuildHelper`` children, as Whoosh's rebuild helpers are.
"""
from __future__ import annotations

import json
import os
import pickle
import shutil
import sys
from pathlib import Path

from elibrary.search.helper_process import HelperFailed, RebuildHelper

HELPERS = 2
HELPER_AFTER = 20_000  # a rebuild of fewer titles is indexed in the calling process
BATCH = 1_000  # documents per batch handed to a helper
# Each helper's tantivy writer heap, an upper bound (the memory is taken as documents come): a helper writes a
# segment each time it fills, and every segment repeats the term dictionary and is searched term by term, so a
# helper's half of a million titles (a helper peaked near 1 GB) is one segment.
HELPER_HEAP = 2 * 1024**3
_OWN_FILES = ("meta.json", ".managed.json", ".tantivy-meta.lock", ".tantivy-writer.lock")


class IndexHelper(RebuildHelper):
    """One child process analysing the batches it is offered and indexing them into ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        super().__init__("elibrary.search.tantivy_build:helper_main", str(folder))

    def offer(self, documents: list) -> bool:
        """Hand a batch to the helper, waiting while two are queued."""
        if not super().offer(documents):
            raise HelperFailed("a search rebuild helper stopped")
        return True

    def finish(self) -> int:
        """Wait for the helper to commit its index; returns how many documents it holds."""
        return super().finish("done")


def helper_main() -> None:
    """The helper process: index the pickled batches read on stdin into the folder named by argv; answer on stdout."""
    from elibrary.search.tantivy_backend import TantivySearch

    folder = Path(sys.argv[1])
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    try:
        import tantivy

        search = TantivySearch(folder)
        index = tantivy.Index(search.tantivy_schema, path=str(folder))
        writer = index.writer(HELPER_HEAP, 1)
        count = 0
        while (documents := pickle.load(source)) is not None:
            for doc in documents:
                writer.add_document(search._document(doc))
            count += len(documents)
        writer.commit()
        writer.wait_merging_threads()
        answer = ("done", count)
    except Exception as exc:  # reported to the rebuilding process, which abandons the rebuild
        import traceback

        answer = ("error", f"{exc!r}\n{traceback.format_exc()}")
    pickle.dump(answer, sink, protocol=pickle.HIGHEST_PROTOCOL)
    sink.flush()


def combine(target: Path, parts: list[Path]) -> None:
    """Move the segments of the indexes in ``parts`` into the (empty) index at ``target`` and list them all in its meta."""
    meta = json.loads((target / "meta.json").read_text(encoding="utf-8"))
    managed = set(json.loads((target / ".managed.json").read_text(encoding="utf-8"))) if (target / ".managed.json").exists() else {"meta.json"}
    for part in parts:
        part_meta = json.loads((part / "meta.json").read_text(encoding="utf-8"))
        if part_meta["schema"] != meta["schema"] or part_meta["index_settings"] != meta["index_settings"]:
            raise HelperFailed(f"a helper's index differs from the new index: {part}")
        for file in part.iterdir():
            if file.name not in _OWN_FILES:
                os.replace(file, target / file.name)
                managed.add(file.name)
        meta["segments"] += part_meta["segments"]
        meta["opstamp"] = max(meta["opstamp"], part_meta["opstamp"])
        shutil.rmtree(part, ignore_errors=True)
    _write_atomically(target / ".managed.json", json.dumps(sorted(managed)))
    _write_atomically(target / "meta.json", json.dumps(meta))


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    with open(temporary, "rb") as f:
        os.fsync(f.fileno())
    os.replace(temporary, path)
