"""A real gunicorn on the loopback for the monitoring tests (multiprocess metrics, log files)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port free on the loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(config: dict, workdir: Path, *, workers: int = 2, extra_env: dict | None = None) -> Iterator[str]:
    """Serve ``wsgi:app`` with ``elibrary.web.gunicorn_conf``; yields the base URL; stops it afterwards."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELIBRARY_", "PROMETHEUS_"))}
    env.update({k: str(v) for k, v in config.items() if k.startswith("ELIBRARY_")})
    env.update(extra_env or {})
    args = [sys.executable, "-m", "gunicorn", "-c", "python:elibrary.web.gunicorn_conf", "--workers", str(workers),
            "--bind", f"127.0.0.1:{port}", "wsgi:app"]
    errors = workdir / "gunicorn.err"
    with errors.open("ab") as err:
        server = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a loaded 2-core machine may take a while to start workers
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=30).read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(errors.read_text()) from None
                time.sleep(0.2)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
