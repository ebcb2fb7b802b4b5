"""Other writes while a benchmark's work runs: how long SQLite's one write lock kept them waiting.

Used by ``bench/import_epub.py`` and ``bench/school_cards.py`` (each run as a script, so this folder is on
``sys.path``): ``with OtherWrites(rt) as writes: …`` writes one row every 20 ms on a thread of its own, as
sign-ins and loans would, and afterwards ``writes.longest`` is the longest of them in seconds.
"""
from __future__ import annotations

import threading
import time


class OtherWrites:
    """A thread writing one row every 20 ms for as long as the ``with`` block runs."""

    def __init__(self, rt) -> None:
        self.rt, self.waits = rt, []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._write)

    def __enter__(self) -> OtherWrites:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()

    @property
    def longest(self) -> float:
        return max(self.waits)

    def _write(self) -> None:
        from sqlalchemy import update

        from elibrary.patrons.models import Patron

        while not self._done.is_set():
            began = time.perf_counter()
            with self.rt.db.write_engine.begin() as connection:
                connection.execute(update(Patron).where(Patron.id == -1).values(blocked=False))
            self.waits.append(time.perf_counter() - began)
            self._done.wait(0.02)
