"""Two worker processes signing the same patrons in for the first time at the same moment (issue 18).

On SQLite a request that only reads (an OPDS GET with Basic credentials) used to write the patron's
``last_login_at`` in its deferred read transaction; when the other worker had committed in between,
SQLite refused the upgrade at once ("database is locked") and the request answered 500.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from elibrary.patrons.models import Patron
from elibrary.patrons.services import add_local_patron

ROOT = Path(__file__).resolve().parents[2]
CARDS = [str(30000 + n) for n in range(24)]


@pytest.fixture
def app_config(app_config):
    """The sync search indexer would add its own writes: keep the race about sign-in alone."""
    return {**app_config, "ELIBRARY_OPDS_FEED_CACHE_SECONDS": 0}


def _run_workers(app_config: dict, path: str, cards: list[str], workers: int = 2) -> list[list]:
    start_at = time.time() + 6.0
    command = [sys.executable, "-m", "tests.patrons.sign_in_worker", json.dumps(app_config), str(start_at), path, *cards]
    procs = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(workers)]
    answers = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-3000:]
        answers.append(json.loads(out.strip().splitlines()[-1]))
    return answers


@pytest.mark.parametrize("path", ["/opds/v2/shelf", "/opds/v1/shelf"])
def test_two_workers_sign_the_same_patrons_in_at_once(app_config, rt, path):
    with rt.db.scope() as session:
        for card in CARDS:
            add_local_patron(session, rt.cipher, card, f"pin-{card}")
    for answers in _run_workers(app_config, path, CARDS):
        assert [status for _, status in answers] == [200] * len(CARDS), answers
    with rt.db.scope(write=False) as session:
        signed_in = [p for p in session.query(Patron).all() if p.last_login_at is not None]
        assert len(signed_in) == len(CARDS)
