"""Lending benchmark: concurrent clients borrowing and returning on PostgreSQL.

    .venv/bin/python bench/lending.py [--url postgresql://root@127.0.0.1:5432/test] [--clients 8] [--seconds 20] [--search postgresql]

``--search postgresql`` runs with ``ELIBRARY_SEARCH=postgresql``: every borrow and return then also
updates the title's search row (its availability) in the same transaction. The default is the in-memory
backend, whose indexing happens after the commit and is not measured.

Creates a private database on that server, named after the URL's database with a random suffix (``…/lendfast_bench``
gives ``lendfast_bench_1a2b3c4d5e``; it is dropped afterwards), migrates it, adds titles with
licences and patrons, then runs CLIENTS processes (each with its own engine) for SECONDS: each loop
borrows a random title and returns it, one transaction each, through ``elibrary.lending.services``
(with the runtime of ``elibrary.wiring.build_runtime``: the app's search queue, indexer and hooks). A monitor samples the lending invariants in a
REPEATABLE READ snapshot during the run, and once more at the end. Prints borrow+return pairs per
second, borrow latency (p50/p95/p99), refusals, and the invariant violations (must be 0).

It also says where the time went, per borrow+return pair: CPU of the client processes (Python) and, when
the server runs on this machine (``/proc``), CPU of their PostgreSQL backends, and how busy the machine's
cores were (the monitor, other postgres processes and other work on a shared machine show up there). And
how fast this machine runs Python today: a fixed loop timed before the run, because the same code's pairs/s
moved twofold with it between days on the same kind of machine.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
import timeit
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

TITLES = 40
COPIES = 3
PATRONS_PER_CLIENT = 20


INSTANCE = {"path": "", "search": "memory"}  # a temporary instance folder (generated keys), made by main() before the clients fork


def bench_runtime(url: str):
    """The app's runtime (``elibrary.wiring.build_runtime``) on ``url``, with in-memory search, storage and notifier."""
    from elibrary.wiring import build_runtime, instance_settings

    instance = INSTANCE["path"]
    overrides = {"ELIBRARY_DATABASE_URL": url, "ELIBRARY_SEARCH": INSTANCE["search"], "ELIBRARY_STORAGE": "memory", "ELIBRARY_NOTIFIER": "memory"}
    return build_runtime(instance_settings(instance, {**overrides, "TESTING": True}, environ={}))  # TESTING: no scheduler thread


def setup(url: str, n_clients: int) -> tuple[list[int], list[list[int]], int]:
    """Schema, titles with a book file and licences (mixed models), and patrons; returns ids."""
    from elibrary.catalog.models import BookFile, Title
    from elibrary.lending import services
    from elibrary.migrate import upgrade_database
    from elibrary.patrons.models import Patron

    runtime = bench_runtime(url)
    db = runtime.db
    upgrade_database(db.engine)
    with db.scope() as session:
        titles = []
        for n in range(TITLES):
            title = Title(title=f"ベンチマークの本 {n}")
            session.add(title)
            session.flush()
            # lending refuses a title nobody could open (``lending.readability``): each has an EPUB row
            digest = f"{n:064d}"
            session.add(BookFile(title_id=title.id, storage_key=f"books/{title.id}/{digest}.epub", sha256=digest, size=1, media_type="application/epub+zip"))
            model = ("concurrent", "one-copy", "metered-loans")[n % 3]
            copies = 1 if model == "one-copy" else COPIES
            services.add_license(session, title.id, model, copies=copies, loans=1_000_000 if model == "metered-loans" else None)
            titles.append(title.id)
        clients = []
        for c in range(n_clients):
            ids = []
            for p in range(PATRONS_PER_CLIENT):
                patron = Patron(card_hash=f"bench-{c}-{p}", card_enc=b"-", category="teacher")
                session.add(patron)
                session.flush()
                ids.append(patron.id)
            clients.append(ids)
    # the set-up's commits started this process's index followers: stopped, so that only the clients work during the run
    runtime.indexer.stop()
    runtime.text_indexer.stop()
    db.dispose()
    return titles, clients, 0


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of a process on this machine, or None if it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK"), sum(values) / os.sysconf("SC_CLK_TCK")


def python_speed() -> float:
    """Nanoseconds of a fixed pure-Python loop (``sum(range(100))``, best of 5): this machine's speed for
    Python today, to compare runs from different days (the same code's pairs/s moved 2x with it)."""
    number = 200_000
    return min(timeit.repeat("sum(range(100))", number=number, repeat=5)) / number * 1e9


def client(url: str, titles: list[int], patrons: list[int], seconds: float, start, results) -> None:
    """Borrow and return until time is up; report latencies and counts."""
    from elibrary.errors import DomainError
    from elibrary.lending import services
    from elibrary.patrons.models import Patron

    db = bench_runtime(url).db
    rng = random.Random()
    latencies, pairs, refused, errors = [], 0, 0, []
    with db.engine.connect() as conn:  # the pooled connection every transaction below reuses
        backend = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    start.wait()
    cpu, backend_cpu = time.process_time(), process_cpu(backend)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        patron_id, title_id = rng.choice(patrons), rng.choice(titles)
        began = time.perf_counter()
        try:
            with db.scope() as session:
                loan = services.borrow(session, session.get(Patron, patron_id), title_id)
                loan_id = loan.id
        except DomainError:
            refused += 1
            continue
        except Exception as exc:  # a crash is a finding, not noise
            errors.append(repr(exc))
            continue
        latencies.append(time.perf_counter() - began)
        try:
            with db.scope() as session:
                services.return_loan(session, session.get(Patron, patron_id), loan_id)
            pairs += 1
        except Exception as exc:
            errors.append(repr(exc))
    cpu = time.process_time() - cpu
    backend_cpu = None if backend_cpu is None or db.engine.pool.checkedin() != 1 else process_cpu(backend) - backend_cpu
    db.dispose()
    results.put((latencies, pairs, refused, errors[:5], cpu, backend_cpu))


def monitor(url: str, stop, results) -> None:
    """Sample the invariants in consistent snapshots while the clients run."""
    from sqlalchemy.orm import Session

    from elibrary.db import make_engine, utcnow
    from elibrary.lending.invariants import violations

    engine = make_engine(url).execution_options(isolation_level="REPEATABLE READ")
    samples, found = 0, []
    while not stop.is_set():
        with Session(bind=engine) as session:
            found += violations(session, utcnow())
        samples += 1
        time.sleep(0.2)
    engine.dispose()
    results.put((samples, found[:10], len(found)))


def main() -> int:
    server = make_url(args.url)
    name = f"{server.database or 'elibrary_bench'}_{uuid.uuid4().hex[:10]}"  # named after the URL's database, which need not exist
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    instance = tempfile.TemporaryDirectory(prefix="elibrary-bench-lending-")
    INSTANCE["path"] = instance.name
    INSTANCE["search"] = args.search
    try:
        speed = python_speed()  # before anything of the run's own: the machine as the run found it
        titles, clients, _ = setup(url, args.clients)
        ctx = multiprocessing.get_context("fork")
        start, stop = ctx.Event(), ctx.Event()
        results, monitor_results = ctx.Queue(), ctx.Queue()
        processes = [ctx.Process(target=client, args=(url, titles, patrons, args.seconds, start, results)) for patrons in clients]
        watcher = ctx.Process(target=monitor, args=(url, stop, monitor_results))
        for process in processes:
            process.start()
        watcher.start()
        time.sleep(1.0)  # let every client import and connect
        busy, total = machine_busy()
        began = time.monotonic()
        start.set()
        outcomes = [results.get(timeout=args.seconds + 120) for _ in processes]
        elapsed = time.monotonic() - began
        busy, total = (now - then for now, then in zip(machine_busy(), (busy, total), strict=True))
        stop.set()
        samples, examples, violation_count = monitor_results.get(timeout=60)
        for process in (*processes, watcher):
            process.join(timeout=30)

        from sqlalchemy.orm import Session

        from elibrary.db import make_engine, utcnow
        from elibrary.lending.invariants import violations

        engine = make_engine(url)
        with Session(bind=engine) as session:
            final = violations(session, utcnow())
            loans_left = session.execute(text("SELECT COUNT(*) FROM loans")).scalar()
        engine.dispose()

        latencies = sorted(x for lat, *_ in outcomes for x in lat)
        pairs = sum(o[1] for o in outcomes)
        refused = sum(o[2] for o in outcomes)
        errors = [e for o in outcomes for e in o[3]]
        client_cpu = sum(o[4] for o in outcomes)
        backend_cpus = [o[5] for o in outcomes]
        q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
        print(f"clients={args.clients} seconds={elapsed:.1f} titles={TITLES} engine=postgresql search={args.search}")
        print(f"borrow+return pairs: {pairs}  ({pairs / elapsed:.0f} pairs/s)")
        print(f"borrow latency ms: p50={q[49] * 1000:.1f} p95={q[94] * 1000:.1f} p99={q[98] * 1000:.1f}")
        print(f"refused borrows (no free copy / already on loan): {refused}")
        print(f"crashes: {len(errors)} {errors[:3]}")
        per_pair = 1000 / max(pairs, 1)
        backends = f"{sum(backend_cpus) * per_pair:.2f} ms in their PostgreSQL backends" if None not in backend_cpus else "backends not visible"
        print(
            f"CPU per pair: {client_cpu * per_pair:.2f} ms in the client processes (Python), {backends}; "
            f"machine {busy / elapsed:.2f} of {total / elapsed:.0f} cores busy ({busy * per_pair:.2f} ms per pair, the monitor and other work included)"
        )
        print(f"machine speed: sum(range(100)) took {speed:.0f} ns before the run (compare runs of other days in bench/README.md by it)")
        print(f"invariant violations: {violation_count + len(final)} (monitor samples: {samples}; final check: {len(final)}; loans left: {loans_left})")
        for line in examples + final:
            print("  ", line)
        if not pairs:
            print("no borrow succeeded: the set-up is broken (every borrow was refused), so nothing was measured")
        return 0 if pairs and not (violation_count or final or errors or loans_left) else 1
    finally:
        instance.cleanup()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="postgresql://root@127.0.0.1:5432/test",
                        help="a PostgreSQL server; a private database named after this one (plus a random suffix) is created on it and dropped")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--search", choices=["memory", "postgresql"], default="memory", help="the search backend (ELIBRARY_SEARCH)")
    args = parser.parse_args()
    sys.exit(main())
