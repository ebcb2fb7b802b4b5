"""SIP2 sign-in cost against pysip2's ACS on loopback (cp932, login, 63 + 35 per sign-in): .venv/bin/python bench/sip2.py"""
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from elibrary.ils.sip2.client import SIP2Client  # noqa: E402 - after the path is set
from elibrary.ils.sip2.connector import SIP2Connector  # noqa: E402
from elibrary.ils.sip2.dialect import DIALECTS  # noqa: E402

CARD, PIN = "20240001", "2468"
SEQUENTIAL, THREADS, PER_THREAD = 200, 4, 50


def main() -> None:
    """Sequential sign-ins over one pooled connection, then four threads at once."""
    acs = subprocess.Popen([sys.executable, str(ROOT / "tests/ils/acs_pysip2.py"), "--encoding", "cp932", "--login-required"],
                           stdout=subprocess.PIPE, text=True)
    try:
        port = int(acs.stdout.readline())
        client = SIP2Client("127.0.0.1", port, replace(DIALECTS["generic"], encoding="cp932"), user="elibrary", password="sip-secret", pool_size=THREADS)
        sip = SIP2Connector(client, institution="KOBE")
        sip.authenticate(CARD, PIN)
        began = time.perf_counter()
        for _ in range(SEQUENTIAL):
            sip.authenticate(CARD, PIN)
        sequential_ms = (time.perf_counter() - began) / SEQUENTIAL * 1000

        def work() -> None:
            for _ in range(PER_THREAD):
                sip.authenticate(CARD, PIN)

        threads = [threading.Thread(target=work) for _ in range(THREADS)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        per_second = THREADS * PER_THREAD / (time.perf_counter() - began)
        print(f"sequential: {sequential_ms:.2f} ms per sign-in (63+35 over a pooled connection); {THREADS} threads: {per_second:.0f} sign-ins/s")
        sip.close()
    finally:
        acs.kill()


if __name__ == "__main__":
    main()
