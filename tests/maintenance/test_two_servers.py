"""The flag reaches another app server within 5 s: two real servers (separate instance folders, one shared
storage folder), the command run in a third process against the first one's instance."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
SERVE = ("import sys; from werkzeug.serving import run_simple; from elibrary import create_app; "
         "run_simple('127.0.0.1', int(sys.argv[1]), create_app(), threaded=True)")
CLI = "from elibrary.cli import main; main()"


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(tmp_path: Path, name: str, template: Path, shared: Path) -> dict[str, str]:
    instance = tmp_path / name
    instance.mkdir()
    shutil.copyfile(template, instance / "elibrary.db")
    return {**os.environ, "ELIBRARY_INSTANCE_PATH": str(instance), "ELIBRARY_DATABASE_URL": f"sqlite:///{instance / 'elibrary.db'}",
            "ELIBRARY_STORAGE_PATH": str(shared), "ELIBRARY_NOTIFIER": "log", "ELIBRARY_LENDING_JOBS_INTERVAL": "0"}


def _wait_until(url: str, status: int, limit: float) -> float:
    started = time.monotonic()
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == status:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        assert time.monotonic() - started < limit, f"{url} did not answer {status} within {limit} s"
        time.sleep(0.1)


def test_the_command_on_one_server_shows_on_the_other_within_five_seconds(tmp_path, sqlite_template):
    shared = tmp_path / "shared-files"
    shared.mkdir()
    envs = [_environment(tmp_path, name, sqlite_template, shared) for name in ("server-a", "server-b")]
    ports = [_port(), _port()]
    servers = [subprocess.Popen([sys.executable, "-c", SERVE, str(port)], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for env, port in zip(envs, ports, strict=True)]
    a, b = (f"http://127.0.0.1:{port}/" for port in ports)
    try:
        _wait_until(a, 200, 60)
        _wait_until(b, 200, 60)
        subprocess.run([sys.executable, "-c", CLI, "maintenance", "on", "--message", "機器交換"], cwd=REPO, env=envs[0], check=True,
                       capture_output=True, timeout=60)
        assert _wait_until(b, 503, 5) < 5
        assert "ただいまメンテナンス中です" in httpx.get(b, timeout=2).text
        assert httpx.get(b + "healthz", timeout=2).status_code == 200
        subprocess.run([sys.executable, "-c", CLI, "maintenance", "off"], cwd=REPO, env=envs[1], check=True, capture_output=True, timeout=60)
        assert _wait_until(a, 200, 5) < 5
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=20)
