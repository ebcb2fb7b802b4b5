"""Backup benchmark: request latency while a scheduled backup runs, against idle (run separately, not a test).

    .venv/bin/python bench/backup.py --files 300 --file-mb 1 --seconds 10 --out /tmp/elibrary-backup-bench [--nice]

Builds a SQLite instance with the demo content plus ``--files`` synthetic book files of ``--file-mb``
MB each (random bytes: nothing compresses), serves it with ``gunicorn --workers 2`` and drives it with
4 client threads (keep-alive off) over a mix of the home page, a search and an OPDS acquisition feed:

1. idle, for ``--seconds``;
2. during the first scheduled backup (``elibrary jobs run backup`` in another process: every book file
   is new, so all of them are read and written to the object store);
3. during the next backup (incremental: the files are read and hashed, none written).

It prints p50/p95 per phase and the ratio of p95 to idle (target ≤ 2), and the backups' durations.
``--nice`` runs the backup as the documented cron line does (``nice -n 10 ionice -c 3``).
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PATHS = ["/", "/search?q=%E3%81%AD%E3%81%93", "/opds/v2/new", "/search?q=%E6%AD%B4%E5%8F%B2"]
CLI = [sys.executable, "-c", "from elibrary.cli import main; main()"]


def _env(out: Path) -> dict[str, str]:
    return {**os.environ, "ELIBRARY_INSTANCE_PATH": str(out / "instance"), "ELIBRARY_NOTIFIER": "log", "ELIBRARY_LENDING_JOBS_INTERVAL": "0",
            "ELIBRARY_BACKUP_SCHEDULE": "03:00", "ELIBRARY_BACKUP_DIR": str(out / "backups")}


def build(out: Path, files: int, file_mb: int) -> None:
    """The demo instance plus ``files`` random book files in its storage."""
    if out.exists():
        shutil.rmtree(out)
    (out / "instance").mkdir(parents=True)
    subprocess.run([*CLI, "init", "--demo"], env=_env(out), cwd=ROOT, check=True, capture_output=True)
    storage = out / "instance" / "files" / "books" / "bench"
    storage.mkdir(parents=True)
    for n in range(files):
        (storage / f"{n:06d}.epub").write_bytes(os.urandom(file_mb * 1024 * 1024))


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _drive(url: str, stop: threading.Event, samples: list[float]) -> None:
    n = 0
    with httpx.Client(headers={"Connection": "close"}, timeout=30) as client:
        while not stop.is_set():
            started = time.perf_counter()
            response = client.get(url + PATHS[n % len(PATHS)])
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
            n += 1


def measure(url: str, during=None, seconds: float = 10) -> tuple[list[float], float]:
    """Latencies (ms) of 4 clients for ``seconds``, or for as long as ``during()`` (a process) runs; its duration."""
    samples: list[float] = []
    stop = threading.Event()
    threads = [threading.Thread(target=_drive, args=(url, stop, samples)) for _ in range(4)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    if during is None:
        time.sleep(seconds)
    else:
        process = during()
        process.wait()
        assert process.returncode == 0, process.stderr.read() if process.stderr else process.returncode
    elapsed = time.monotonic() - started
    stop.set()
    for thread in threads:
        thread.join()
    return samples, elapsed


def _p(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100)[int(q) - 1] if len(samples) > 1 else samples[0]


def main() -> None:
    """Build, serve, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--file-mb", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--out", type=Path, default=Path("/tmp/elibrary-backup-bench"))
    parser.add_argument("--nice", action="store_true", help="run the backup under nice -n 10 ionice -c 3")
    args = parser.parse_args()
    build(args.out, args.files, args.file_mb)
    env, port = _env(args.out), _port()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    prefix = ["nice", "-n", "10", "ionice", "-c", "3"] if args.nice else []

    def backup():
        return subprocess.Popen([*prefix, *CLI, "jobs", "run", "backup"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        measure(url, seconds=2)  # warm-up
        idle, _ = measure(url, seconds=args.seconds)
        first, first_s = measure(url, during=backup)
        second, second_s = measure(url, during=backup)
    finally:
        server.terminate()
        server.wait(timeout=30)
    load = os.getloadavg()[0]
    print(f"files: {args.files} x {args.file_mb} MB; load average {load:.1f}; backup {'niced' if args.nice else 'at normal priority'}")
    print("| phase | requests | p50 ms | p95 ms | p95 / idle | backup took |")
    print("|---|---|---|---|---|---|")
    base = _p(idle, 95)
    for name, samples, took in (("idle", idle, None), ("first backup (all files new)", first, first_s), ("next backup (incremental)", second, second_s)):
        print(f"| {name} | {len(samples)} | {_p(samples, 50):.1f} | {_p(samples, 95):.1f} | {_p(samples, 95) / base:.2f} | "
              f"{'' if took is None else f'{took:.1f} s'} |")


if __name__ == "__main__":
    main()
