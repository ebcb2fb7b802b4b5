"""OPDS benchmark: requests/s and p50/p95 latency on gunicorn with a large catalog (run separately, not a test).

    .venv/bin/python bench/opds.py --titles 100000 --seconds 10 --out /tmp/elibrary-opds-bench

Builds (once; kept in ``--out``) a SQLite instance with ``--titles`` synthetic titles — the same
generator as ``bench/search.py`` — a third of them licensed (open, one-copy, concurrent), and their
Whoosh index. Then serves it with ``gunicorn --workers 2`` (the README's production setting per 2
cores) and measures, at concurrency 1 and 8, for ``--seconds`` each after a warm-up:

- ``ceiling``: a bare Flask endpoint added to the same application (no database, returns "ok");
- ``root``: ``/opds/v2/`` (OPDS 2 navigation); ``root-v1``: ``/opds/v1/``;
- ``acquisition``: ``/opds/v2/new`` (50 publications, facets with counts, paging);
  ``acquisition-v1``: ``/opds/v1/new`` (50 Atom entries);
- ``search``: ``/opds/v2/search?query=...`` over a rotating set of Japanese queries.

With ``--signed-in`` every request but the ceiling carries HTTP Basic credentials of one of
``SIGNED_IN_PATRONS`` local patrons (added once with ``elibrary patrons add``), as reading apps send
them: each request then verifies the credentials and renders the patron's own feed.

Every worker's RSS is sampled every 0.5 s over the whole run (after the warm-up of the first endpoint)
and reported as the start, the largest in the first and last third, and the largest; the load average
(``os.getloadavg``) is printed at the start and the end.

Clients run in this process (threads, keep-alive off as gunicorn's sync workers close connections), on
the same machine, so absolute numbers are a floor. The figure that matters is the ratio of the
acquisition page's throughput to the ceiling's.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIGNED_IN_PATRONS = 20
QUERIES = ["日本", "歴史", "こども", "ねこ", "宇宙の図鑑", "なつめ", "科学 入門", "鉄道", "データ", "むらかみ はるき"]
WSGI = '''
from elibrary import create_app

app = create_app()


@app.get("/bench/bare")
def bare():
    return "ok"
'''


def _search_bench_module():
    spec = importlib.util.spec_from_file_location("bench_search", ROOT / "bench" / "search.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(out: Path, n: int) -> None:
    """A migrated SQLite database with ``n`` titles and the matching Whoosh index."""
    from sqlalchemy import insert

    from elibrary.catalog.models import Contributor, Title, TitleContributor
    from elibrary.db import make_engine
    from elibrary.lending.models import License
    from elibrary.migrate import upgrade_database
    from elibrary.search.whoosh_backend import WhooshSearch

    if out.exists():
        shutil.rmtree(out)
    (out / "instance").mkdir(parents=True)
    engine = make_engine(f"sqlite:///{out / 'instance' / 'elibrary.db'}")
    upgrade_database(engine)
    documents = list(_search_bench_module().catalog(n))
    people: dict[tuple[str, str], int] = {}
    titles, credits, licences = [], [], []
    start = datetime(2020, 1, 1, tzinfo=timezone.utc)
    rng = random.Random(7)
    isbns: set[str] = set()
    for doc in documents:
        isbn = doc.isbn if doc.isbn not in isbns else None  # the generator may repeat one; the column is unique
        isbns.add(doc.isbn)
        created = start + timedelta(minutes=doc.id)
        titles.append(dict(
            id=doc.id, title=doc.title, title_reading=doc.title_reading, subtitle=doc.subtitle,
            series_title=doc.series, series_reading="", volume="", publisher=doc.publisher, published_on=doc.published,
            isbn=isbn, ndc=doc.ndc, language=doc.language, audience=doc.audience, description=doc.description,
            format=doc.format, page_progression="ltr", accessibility=[], status="active", source="bench",
            created_at=created, updated_at=created,
        ))
        for position, (name, reading) in enumerate(zip(doc.contributors, doc.contributor_readings, strict=False)):
            key = (name, reading)
            if key not in people:
                people[key] = len(people) + 1
            credits.append(dict(title_id=doc.id, contributor_id=people[key], role="aut", position=position))
        roll = rng.random()
        if roll < 0.1:
            licences.append(dict(title_id=doc.id, model="open", copies=None, drm_free_download=False, note="", created_at=created))
        elif roll < 0.33:
            licences.append(dict(title_id=doc.id, model="one-copy", copies=1, drm_free_download=False, note="", created_at=created))
    with engine.begin() as conn:
        conn.execute(insert(Title), titles)
        conn.execute(insert(Contributor), [dict(id=i, name=n_, name_reading=r) for (n_, r), i in people.items()])
        conn.execute(insert(TitleContributor), credits)
        conn.execute(insert(License), licences)
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    print(f"database: {n} titles, {len(people)} contributors, {len(licences)} licences", flush=True)
    search = WhooshSearch(out / "instance" / "search-index")
    began = time.perf_counter()
    search.rebuild(documents, progress=lambda d: d % 20000 == 0 and print(f"  {d} indexed", flush=True))
    search.close()
    print(f"index: {time.perf_counter() - began:.0f} s", flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(out: Path, workers: int, feed_cache: bool = True) -> tuple[subprocess.Popen, str]:
    """gunicorn on the instance, with the bare endpoint added."""
    (out / "bench_wsgi.py").write_text(WSGI)
    port = _free_port()
    env = {**os.environ, "ELIBRARY_INSTANCE_PATH": str(out / "instance"), "ELIBRARY_SEARCH": "whoosh", "ELIBRARY_NOTIFIER": "log"}
    if not feed_cache:
        env["ELIBRARY_OPDS_FEED_CACHE_SECONDS"] = "0"
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--pythonpath", f"{out},{ROOT}", "--log-level", "warning", "bench_wsgi:app"],
        cwd=ROOT, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/bench/bare", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def add_patrons(out: Path) -> None:
    """The local patrons whose credentials ``--signed-in`` sends (once per instance)."""
    marker = out / "patrons-added"
    if marker.exists():
        return
    env = {**os.environ, "ELIBRARY_INSTANCE_PATH": str(out / "instance")}
    for n in range(SIGNED_IN_PATRONS):
        subprocess.run([str(Path(sys.executable).with_name("elibrary")), "patrons", "add", f"{900000 + n}", "--pin", f"pin-{900000 + n}"],
                       cwd=ROOT, env=env, check=True, capture_output=True)
    marker.touch()


def basic_credentials(n: int) -> dict[str, str]:
    """The Authorization header of the ``n``-th bench patron."""
    import base64

    card = 900000 + n % SIGNED_IN_PATRONS
    return {"Authorization": "Basic " + base64.b64encode(f"{card}:pin-{card}".encode()).decode()}


class RssSampler(threading.Thread):
    """The RSS of gunicorn's workers every ``interval`` seconds (a worker's memory must stay flat)."""

    def __init__(self, server_pid: int, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.server_pid, self.interval = server_pid, interval
        self.samples: list[int] = []  # the largest worker's RSS in bytes, per sample
        self.done = threading.Event()

    def run(self) -> None:
        import psutil

        while not self.done.is_set():
            try:
                workers = psutil.Process(self.server_pid).children()
                self.samples.append(max((w.memory_info().rss for w in workers), default=0))
            except psutil.Error:
                pass
            self.done.wait(self.interval)

    def summary(self) -> dict:
        """Start, largest in the first and last third, and largest, in MB."""
        samples, third = self.samples, max(1, len(self.samples) // 3)
        mb = lambda b: round(b / 2**20, 1)  # noqa: E731
        return {"rss_start_mb": mb(samples[0]), "rss_first_third_mb": mb(max(samples[:third])),
                "rss_last_third_mb": mb(max(samples[-third:])), "rss_max_mb": mb(max(samples)), "samples": len(samples)}


def load(url: str, paths: list[str], concurrency: int, seconds: float, signed_in: bool = False) -> dict:
    """``concurrency`` threads requesting ``paths`` in turn for ``seconds``; throughput and latency."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(offset: int) -> None:
        mine, failed = [], 0
        headers = {"Accept-Encoding": "identity", **(basic_credentials(offset) if signed_in else {})}
        with httpx.Client(base_url=url, timeout=60, headers=headers) as client:
            i = offset
            while time.monotonic() < stop:
                began = time.perf_counter()
                response = client.get(paths[i % len(paths)])
                mine.append(time.perf_counter() - began)
                failed += response.status_code != 200
                i += 1
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    pick = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000  # noqa: E731
    return {"requests": len(latencies), "errors": errors[0], "rps": round(len(latencies) / elapsed, 1),
            "p50_ms": round(pick(0.50), 1), "p95_ms": round(pick(0.95), 1), "mean_ms": round(statistics.fmean(latencies) * 1000, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--titles", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--out", type=Path, default=Path("/tmp/elibrary-opds-bench"))
    parser.add_argument("--no-feed-cache", action="store_true", help="render every anonymous feed (ELIBRARY_OPDS_FEED_CACHE_SECONDS=0)")
    parser.add_argument("--only", nargs="+", help="measure only these endpoints (the ceiling is always measured)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the instance even if it exists")
    parser.add_argument("--signed-in", action="store_true", help="send Basic credentials of a local patron with every feed request")
    args = parser.parse_args()
    marker = args.out / f"built-{args.titles}"
    if args.rebuild or not marker.exists():
        build(args.out, args.titles)
        marker.touch()
    process, url = serve(args.out, args.workers, feed_cache=not args.no_feed_cache)
    if args.signed_in:
        add_patrons(args.out)
    endpoints = {
        "ceiling": ["/bench/bare"],
        "root": ["/opds/v2/"],
        "root-v1": ["/opds/v1/"],
        "acquisition": ["/opds/v2/new"],
        "acquisition-v1": ["/opds/v1/new"],
        "search": [f"/opds/v2/search?query={q}" for q in QUERIES],
    }
    if args.only:
        endpoints = {k: v for k, v in endpoints.items() if k == "ceiling" or k in args.only}
    results: dict[str, dict] = {}
    sampler = RssSampler(process.pid)
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)
    try:
        for name, paths in endpoints.items():
            signed_in = args.signed_in and name != "ceiling"
            # warm-up: caches, index readers, each worker's first request (and each patron's PIN check in each worker)
            patrons = max(args.concurrency) if signed_in else 1
            for path in paths:
                for k in range(args.workers * 2 * patrons):
                    headers = basic_credentials(k % patrons) if signed_in else {}
                    assert httpx.get(url + path, timeout=120, headers=headers).status_code == 200, path
            if not sampler.is_alive():
                sampler.start()
            for concurrency in args.concurrency:
                results[f"{name}@{concurrency}"] = row = load(url, paths, concurrency, args.seconds, signed_in)
                print(f"{name:15} c={concurrency}  {row['rps']:8.1f} req/s  p50 {row['p50_ms']:7.1f} ms  "
                      f"p95 {row['p95_ms']:7.1f} ms  errors {row['errors']}", flush=True)
    finally:
        sampler.done.set()
        process.terminate()
        process.wait(timeout=30)
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)
    if sampler.samples:
        results["worker_rss"] = rss = sampler.summary()
        print(f"largest worker RSS: start {rss['rss_start_mb']} MB, first third {rss['rss_first_third_mb']} MB, "
              f"last third {rss['rss_last_third_mb']} MB, max {rss['rss_max_mb']} MB ({rss['samples']} samples)")
    for concurrency in args.concurrency:
        ceiling = results[f"ceiling@{concurrency}"]["rps"]
        for name in ("acquisition", "acquisition-v1", "root", "search"):
            if f"{name}@{concurrency}" not in results:
                continue
            ratio = results[f"{name}@{concurrency}"]["rps"] / ceiling
            print(f"{name} / ceiling at c={concurrency}: {ratio:.0%}")
    (args.out / f"results{'-nocache' if args.no_feed_cache else ''}{'-signed-in' if args.signed_in else ''}.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
