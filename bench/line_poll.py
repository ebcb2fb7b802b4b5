"""LINE paper-notice polling benchmark: N linked patrons polled over SIP2 from a loopback ACS (run separately, not a test).

    .venv/bin/python bench/line_poll.py --patrons 5000 --workers 4

Creates a temporary SQLite instance with N linked patrons (every tenth with a hold ready, every
twentieth overdue), runs one ``elibrary.line.paper.poll`` pass against tests/line/sip2_acs.py's ACS and
prints the time, the SIP2 requests and the notices queued. The budget in production: 5,000 patrons in
30 minutes (ELIBRARY_LINE_POLL_BUDGET_MINUTES).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from elibrary import create_app  # noqa: E402
from elibrary.ils.sip2.connector import SIP2Connector  # noqa: E402
from elibrary.line import paper  # noqa: E402
from elibrary.line.models import LineLink  # noqa: E402
from elibrary.patrons.models import Patron  # noqa: E402
from tests.line.sip2_acs import PaperACS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patrons", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    acs = PaperACS()
    port = acs.start()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"ELIBRARY_INSTANCE_PATH": tmp, "ELIBRARY_NOTIFIER": "memory", "ELIBRARY_SEARCH_SYNC": True,
                          "ELIBRARY_SIP2_HOST": "127.0.0.1", "ELIBRARY_SIP2_PORT": port, "ELIBRARY_SIP2_POOL_SIZE": args.workers})
        from elibrary.migrate import upgrade_database

        rt = app.extensions["elibrary"]
        upgrade_database(rt.db.engine)
        with rt.db.scope() as session:
            for n in range(args.patrons):
                card = f"7{n:07d}"
                patron = Patron(card_hash=rt.cipher.lookup_hash(card), card_enc=rt.cipher.encrypt(card, "patron.card"))
                session.add(patron)
                session.flush()
                session.add(LineLink(patron_id=patron.id, line_user_hash=rt.cipher.lookup_hash(f"line:U{n:032x}"),
                                     line_user_enc=rt.cipher.encrypt(f"U{n:032x}", "line.user")))
                acs.holds[card] = [f"31{n:06d}"] if n % 10 == 0 else []
                acs.overdue[card] = [f"32{n:06d}"] if n % 20 == 0 else []
        connector = SIP2Connector.from_settings(rt.settings)
        started = time.perf_counter()
        report = paper.poll(rt.db, connector, rt.cipher, workers=args.workers)
        elapsed = time.perf_counter() - started
        connector.close()
        rt.db.dispose()
    acs.close()
    print(f"patrons={args.patrons} workers={args.workers} seconds={elapsed:.1f} per_patron_ms={1000 * elapsed / max(1, report.polled):.2f} "
          f"sip2_requests={acs.requests} polled={report.polled} notices={report.notices} failed={report.failed}")


if __name__ == "__main__":
    main()
