"""Schools benchmark: a city's OneRoster bundle of 3,000 pupils in 20 schools, imported and rolled over.

    .venv/bin/python bench/schools.py [--pupils 3000] [--schools 20] [--runs 3] [--database-url URL] [--out DIR]

Each run makes a fresh database (SQLite in a temporary folder unless ``--database-url`` names an empty
PostgreSQL database) and the city's bundle (``elibrary.schools.sample_bundle.city_bundle``: Japanese names in
kanji and kana, 出席番号, a teacher per class), written to ``--out`` as ``city-roster.zip``. It times, through
the same services as ``elibrary schools import-roster`` and ``elibrary schools rollover``:

- the dry run of the bundle (parse and diff, rolled back),
- the real import (accounts, password hashes, classes, enrolments, access log; committed),
- the same bundle again (nothing changes),
- the roll-over preview and the roll-over itself into the next 年度 (committed).

The import hashes the new accounts' passwords first, with no transaction open, as the command and the staff
page do (``services.passwords_for``). Prints the median and the slowest of the runs in seconds, with each
step's time inside its writing transaction (on SQLite every sign-in and loan waits that long for the write
lock), its database round trips (statements sent) and the process's CPU seconds (password hashing runs on a
thread per core, so CPU can exceed the wall time). Targets: each ≤ 60 s.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from elibrary.schools import rollover, services  # noqa: E402
from elibrary.schools.directory import Actor  # noqa: E402
from elibrary.schools.importing import counts  # noqa: E402
from elibrary.schools.sample_bundle import city_bundle  # noqa: E402

ACTOR = Actor(None, "bench", None)
STEPS = ("dry run", "import", "re-import", "rollover preview", "rollover")


def runtime(url: str, instance: Path):
    """The app's runtime (``elibrary.wiring.build_runtime``) on ``url``."""
    from elibrary.migrate import upgrade_database
    from elibrary.wiring import build_runtime, instance_settings

    rt = build_runtime(instance_settings(str(instance), {"ELIBRARY_DATABASE_URL": url, "ELIBRARY_SEARCH": "memory", "ELIBRARY_STORAGE": "memory",
                                                         "ELIBRARY_NOTIFIER": "memory", "TESTING": True}, environ={}))
    upgrade_database(rt.db.engine)
    return rt


def one_run(url: str, instance: Path, data: bytes) -> dict[str, float]:
    """Time every step once on a fresh database."""
    from sqlalchemy import event

    rt = runtime(url, instance)
    times: dict[str, float] = {}
    statements = [0]
    event.listen(rt.db.engine, "before_cursor_execute", lambda *args: statements.__setitem__(0, statements[0] + 1))

    def timed(name: str, fn):
        statements[0], cpu, start = 0, time.process_time(), time.perf_counter()
        value = fn()
        times[name] = time.perf_counter() - start
        times[name + " trips"], times[name + " cpu"] = statements[0], time.process_time() - cpu
        return value

    @contextmanager
    def writing(name: str, write: bool):
        """A transaction whose time is recorded as the step's time in a writing transaction (none unless ``write``)."""
        start = time.perf_counter()
        try:
            with rt.db.scope(write=write) as session:
                yield session
        finally:
            times[name + " writing"] = time.perf_counter() - start if write else 0.0

    def import_once(name: str, dry_run: bool):
        passwords = None if dry_run else services.passwords_for(rt.db, rt.cipher, data, year=2026)
        with writing(name, not dry_run) as session:
            plan, result = services.import_roster(session, rt.cipher, data, ACTOR, year=2026, dry_run=dry_run, passwords=passwords)
            if dry_run:
                session.rollback()
        return plan

    plan = timed("dry run", lambda: import_once("dry run", True))
    print(f"  dry run: {dict(counts(plan))}", flush=True)
    timed("import", lambda: import_once("import", False))
    again = timed("re-import", lambda: import_once("re-import", False))
    assert not again.new and not again.changed and not again.leaving, "the second import changed something"

    def roll(preview: bool):
        with writing("rollover preview" if preview else "rollover", True) as session:  # the preview writes in a savepoint
            if preview:
                result = rollover.preview_rollover(session, rt.cipher, 2027, until=date(2027, 4, 30))
                session.rollback()
                return result
            return rollover.apply_rollover(session, rt.cipher, 2027, ACTOR, until=date(2027, 4, 30))

    timed("rollover preview", lambda: roll(True))
    result = timed("rollover", lambda: roll(False))
    print(f"  rollover: promoted {result.count('promote')}, graduated {result.count('graduate')}, teachers {result.count('teacher')}", flush=True)
    rt.db.dispose()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pupils", type=int, default=3000)
    parser.add_argument("--schools", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="an empty PostgreSQL database (default: SQLite in a temporary folder)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    data = city_bundle(schools=args.schools, pupils=args.pupils).to_zip()
    out = args.out or Path(tempfile.mkdtemp(prefix="elibrary-bench-schools-"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "city-roster.zip").write_bytes(data)
    print(f"bundle: {args.pupils} pupils in {args.schools} schools, {len(data) / 1024:.0f} KB zip → {out / 'city-roster.zip'}")
    runs = []
    for n in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="elibrary-bench-schools-") as folder:
            url = args.database_url or f"sqlite:///{folder}/bench.db"
            if args.database_url:
                _empty(args.database_url)
            print(f"run {n + 1}:", flush=True)
            runs.append(one_run(url, Path(folder) / "instance", data))
    print(f"\n{'step':<18} {'median s':>9} {'max s':>7} {'writing s':>10} {'round trips':>12} {'cpu s':>7}  (target ≤ 60 s)")
    for step in STEPS:
        values = [run[step] for run in runs]
        writing_s = statistics.median(run[step + " writing"] for run in runs)
        trips, cpu = statistics.median(run[step + " trips"] for run in runs), statistics.median(run[step + " cpu"] for run in runs)
        print(f"{step:<18} {statistics.median(values):>9.2f} {max(values):>7.2f} {writing_s:>10.2f} {trips:>12.0f} {cpu:>7.2f}")


def _empty(url: str) -> None:
    """Drop every table of a PostgreSQL benchmark database (each run starts empty)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


if __name__ == "__main__":
    main()
