"""Real SIP2 servers on loopback, each in a subprocess: pysip2's ACS and a transcript-replaying ACS."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _start(args: list[str]) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.strip().isdigit():
        proc.kill()
        raise RuntimeError(f"ACS did not start: {line!r} {proc.stderr.read()}")
    return proc, int(line)


@pytest.fixture
def start_acs():
    """``start_acs(script, *args) -> port``; every server started is stopped after the test."""
    procs: list[subprocess.Popen] = []

    def start(script: str, *args: str) -> int:
        proc, port = _start([str(HERE / script), *args])
        procs.append(proc)
        return port

    yield start
    for proc in procs:
        proc.kill()
        proc.wait(timeout=5)
        proc.stdout.close()
        proc.stderr.close()
