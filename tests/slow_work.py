"""Does a write wait for slow work? A helper for tests of SQLite's write lock.

On SQLite a writing transaction holds the one write lock every sign-in and loan needs, so slow work (sending
mail, writing a search index) must not run inside one. ``SlowWork`` makes a call stop until released, and
``write_during`` times another request's write while that call is stopped.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable


class SlowWork:
    """Wraps calls so that each stops until ``release`` (or 10 s); ``entered`` is set when one has stopped."""

    def __init__(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()

    def wrap(self, call: Callable) -> Callable:
        def slow(*args, **kwargs):
            self.entered.set()
            self.release.wait(timeout=10)
            return call(*args, **kwargs)

        return slow

    def write_during(self, work: Callable[[], None], rt, statement) -> tuple[float, bool]:
        """Run ``work`` on a thread; once a wrapped call has stopped, run ``statement`` in a writing transaction
        of its own (another request's). Returns its seconds and whether the slow work was still stopped then."""
        thread = threading.Thread(target=work)
        thread.start()
        try:
            assert self.entered.wait(timeout=10), "the slow work never started"
            began = time.monotonic()
            with rt.db.write_engine.begin() as connection:
                connection.execute(statement)
            return time.monotonic() - began, not self.release.is_set() and thread.is_alive()
        finally:
            self.release.set()
            thread.join(timeout=30)
