"""A child process of a search rebuild, fed batches of documents over a pipe (Whoosh's and tantivy's rebuilds).

The helper is a plain ``python -c`` child speaking pickle over its standard input and output: unlike
multiprocessing's spawn it never re-imports the caller's main module, and unlike fork it is safe from a
threaded server process. The caller hands it batches with ``offer`` (at most two wait, so reading the
database and the helper's analysis overlap on two cores); ``finish`` sends the end and reads the helper's one
answer, a pickled ``(kind, value)``: the expected kind with its result, or ``"error"`` with a message.
"""
from __future__ import annotations

import os
import pickle
import queue
import subprocess
import sys
import threading
from pathlib import Path


class HelperFailed(Exception):
    """A helper process of a rebuild failed; the rebuild is abandoned and the old index stays."""


class RebuildHelper:
    """One child process running ``entry`` (``"module:function"``) with ``args``, fed pickled batches."""

    def __init__(self, entry: str, *args: str) -> None:
        module, function = entry.split(":")
        package_root = Path(__file__).resolve().parents[2]  # the folder holding the elibrary package (not importing it: no Flask)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(package_root), os.environ.get("PYTHONPATH")]))}
        self._process = subprocess.Popen(
            [sys.executable, "-c", f"from {module} import {function}; {function}()", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
        )
        self._batches: queue.Queue = queue.Queue(maxsize=2)
        self._feed_error: BaseException | None = None
        self._feeder = threading.Thread(target=self._feed, name="search-rebuild-feeder", daemon=True)
        self._feeder.start()

    def _feed(self) -> None:
        # Writing blocks while the helper is busy; on this thread that costs the reading thread nothing.
        try:
            while True:
                batch = self._batches.get()
                pickle.dump(batch, self._process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                self._process.stdin.flush()
                if batch is None:
                    self._process.stdin.close()
                    return
        except BaseException as exc:  # the helper died; finish() reports it
            self._feed_error = exc

    def offer(self, documents: list) -> bool:
        """Hand a batch to the helper, waiting while two are queued; False if the helper has gone."""
        while self._feed_error is None and self._feeder.is_alive():
            try:
                self._batches.put(documents, timeout=1.0)
                return True
            except queue.Full:
                continue
        return False

    def finish(self, kind: str):
        """Send the end of the batches and wait for the helper's answer of ``kind``; returns its value."""
        if self._feeder.is_alive():
            self._batches.put(None)
        self._feeder.join()
        try:
            self._process.stdin.close()
        except OSError:
            pass  # the helper died before reading everything
        try:
            answer, value = pickle.load(self._process.stdout)
        except Exception as exc:  # no answer: it died (killed, out of memory)
            self._process.wait()
            raise HelperFailed(f"a search rebuild helper exited with code {self._process.returncode}") from exc
        self._process.stdout.close()
        self._process.wait()
        if answer != kind:
            raise HelperFailed(value)
        return value

    def cancel(self) -> None:
        """Stop the helper if it still runs."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        for stream in (self._process.stdin, self._process.stdout):
            try:
                stream.close()
            except OSError:
                pass
