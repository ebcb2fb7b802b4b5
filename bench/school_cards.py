"""Sign-in cards benchmark: `elibrary schools cards` for N pupils of one school (run by hand, not a test).

    .venv/bin/python bench/school_cards.py --pupils 1000 --runs 3

Creates a temporary SQLite instance with one school of N pupils in classes of 35, then runs the command
(new QR tokens, new passwords, the A4 PDF) ``--runs`` times and prints each run, the median and the
slowest (p95 is the slowest at this count). Target: 1,000 pupils' cards in ≤ 60 s. ``--keep-passwords``
measures the cards without new passwords (the password hashes are most of the work).

Meanwhile another thread writes a row every 20 ms, as sign-ins and loans would, and the longest of those
writes is printed: on SQLite that is how long the command held the database's one write lock.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lock_wait import OtherWrites  # noqa: E402  (bench/, this script's folder)

from elibrary import create_app  # noqa: E402
from elibrary.db import utcnow  # noqa: E402
from elibrary.schools.directory import current_school_year  # noqa: E402
from tests.schools.signin_factories import make_class, make_pupil, make_school, make_year  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pupils", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep-passwords", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"ELIBRARY_INSTANCE_PATH": tmp, "ELIBRARY_SEARCH": "memory", "ELIBRARY_PUBLIC_URL": "https://library.example.jp"})
        from elibrary.migrate import upgrade_database

        rt = app.extensions["elibrary"]
        upgrade_database(rt.db.engine)
        with rt.db.scope() as session:
            school = make_school(session, "0101", "市立さくら小学校")
            year = make_year(session, current_school_year(utcnow()))
            room = None
            for n in range(args.pupils):
                if n % 35 == 0:
                    room = make_class(session, school, year, 1 + (n // 35) % 6, str(1 + n // 210))
                make_pupil(session, rt.cipher, school, f"p{n:07d}", school_class=room, year=year, number=1 + n % 35)
        runner = app.test_cli_runner()
        times = []
        for run in range(args.runs):
            out = Path(tmp) / f"cards-{run}.pdf"
            command = ["schools", "cards", "--school", "0101", str(out)] + (["--keep-passwords"] if args.keep_passwords else [])
            with OtherWrites(rt) as writes:
                started = time.perf_counter()
                result = runner.invoke(args=command)
                times.append(time.perf_counter() - started)
            if result.exit_code != 0:
                raise SystemExit(result.output)
            print(f"run {run + 1}: {times[-1]:.1f} s, {out.stat().st_size / 1e6:.1f} MB, longest other write {writes.longest:.2f} s, "
                  f"{result.output.strip()}")
        rt.db.dispose()
    print(f"pupils={args.pupils} keep_passwords={args.keep_passwords} median={statistics.median(times):.1f}s max={max(times):.1f}s")


if __name__ == "__main__":
    main()
