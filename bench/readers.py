"""Readers benchmark: time to the first rendered page in headless Chromium, and server memory under 20 readers.

    .venv/bin/python bench/readers.py [--readers 20] [--rounds 3] [--threads 8]

Serves the app with gunicorn (one gthread worker, as in production, SQLite in a temporary instance)
on loopback. Then:
1. Opens a 5 MB EPUB (the horizontally scrollable emakimono sample, 5.3 MB zipped), kusamakura and a
   50-page PDF in Debian's Chromium, each three times in a fresh context, and reports the time from
   navigation start to the first rendered page (``data-ready-at`` set by the reader; target ≤ 1.5 s).
2. Signs in READERS patrons, each with a loan, and has them page through kusamakura at once: every
   content document, stylesheet and image, the large ones by byte ranges, ROUNDS times. The worker's
   RSS is sampled every 0.2 s; it must stay flat (no whole-file reads per request).
"""
from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SAMPLES = ROOT / "tests" / "files" / "external" / "epub3-samples"  # sources and licences: SOURCES.md there
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(instance: Path, readers: int) -> dict:
    """Migrate the database and add the books and patrons; returns their ids and cards."""
    from elibrary import create_app
    from elibrary.books.packing import pack_epub_directory
    from elibrary.lending import services as lending
    from elibrary.migrate import upgrade_database
    from tests.readers.factories import PDF, make_book, make_patron, make_pdf, manga_epub

    app = create_app({"ELIBRARY_INSTANCE_PATH": str(instance), "ELIBRARY_SEARCH": "memory"})
    rt = app.extensions["elibrary"]
    upgrade_database(rt.db.engine)
    with rt.db.scope() as session:
        big = make_book(session, rt.storage, manga_epub(pages=60), license="open")
        kusamakura = make_book(session, rt.storage, pack_epub_directory(SAMPLES / "kusamakura-japanese-vertical-writing"), license=None)
        lending.add_license(session, kusamakura.id, "concurrent", copies=readers)
        pdf = make_book(session, rt.storage, make_pdf(50), PDF, license="open")
        cards = []
        for _ in range(readers):
            patron, card = make_patron(session, rt.cipher)
            lending.borrow(session, patron, kusamakura.id)
            cards.append(card)
        open_copy = make_book(session, rt.storage, pack_epub_directory(SAMPLES / "kusamakura-japanese-vertical-writing"),
                              license="open", title="草枕（公開）")
        ids = {"big": big.id, "kusamakura": kusamakura.id, "kusamakura_open": open_copy.id, "pdf": pdf.id, "cards": cards}
    rt.db.dispose()
    return ids


def serve(instance: Path, port: int, threads: int) -> subprocess.Popen:
    env = dict(os.environ, ELIBRARY_INSTANCE_PATH=str(instance), ELIBRARY_SEARCH="memory")
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--workers", "1", "--worker-class", "gthread", "--threads", str(threads),
         "--bind", f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start: " + process.stderr.read().decode()[-2000:])


def first_page_times(base: str, ids: dict, tries: int = 3) -> dict[str, list[float]]:
    """Milliseconds from navigation start to the first rendered page, per book, fresh context each time."""
    from playwright.sync_api import sync_playwright

    results: dict[str, list[float]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        for name in ("big", "kusamakura_open", "pdf"):
            title_id = ids["big"] if name == "big" else ids["pdf"] if name == "pdf" else ids["kusamakura_open"]
            for attempt in range(tries + 1):  # the first run warms the server's caches and is not counted
                context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
                page = context.new_page()
                page.goto(f"{base}/read/{title_id}")
                page.wait_for_selector("body[data-ready=true]", timeout=30_000)
                if attempt:
                    results.setdefault(name, []).append(float(page.get_attribute("body", "data-ready-at")))
                context.close()
        browser.close()
    return results


class Reader(threading.Thread):
    """One patron paging through the book: every document, stylesheet and image, big ones by ranges."""

    def __init__(self, base: str, card: str, title_id: int, entries: list[tuple[str, int]], rounds: int) -> None:
        super().__init__(daemon=True)
        self.base, self.card, self.title_id, self.entries, self.rounds = base, card, title_id, entries, rounds
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.latencies: list[float] = []
        self.errors = 0

    def sign_in(self) -> None:
        page = self.opener.open(f"{self.base}/login").read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        from tests.readers.factories import PIN

        body = urllib.parse.urlencode({"card": self.card, "pin": PIN, "csrf_token": token}).encode()
        self.opener.open(f"{self.base}/login", data=body).read()

    def run(self) -> None:
        for _ in range(self.rounds):
            for entry, size in self.entries:
                url = f"{self.base}/read/{self.title_id}/r/{urllib.parse.quote(entry)}"
                request = urllib.request.Request(url)
                if size > 64 * 1024:
                    request.add_header("Range", f"bytes=0-{64 * 1024 - 1}")
                started = time.perf_counter()
                try:
                    with self.opener.open(request) as response:
                        response.read()
                except OSError:
                    self.errors += 1
                self.latencies.append(time.perf_counter() - started)


def rss_of(pid: int) -> int:
    import psutil

    return psutil.Process(pid).memory_info().rss


def load_test(base: str, server: subprocess.Popen, ids: dict, readers: int, rounds: int) -> dict:
    import io

    import psutil

    from elibrary.books import open_epub
    from elibrary.books.packing import pack_epub_directory

    children = psutil.Process(server.pid).children()
    worker = children[0].pid if children else server.pid
    with open_epub(io.BytesIO(pack_epub_directory(SAMPLES / "kusamakura-japanese-vertical-writing"))) as archive:
        entries = [(name, archive.size(name)) for name in archive.names if not name.endswith(("mimetype", ".opf"))]
    threads = [Reader(base, card, ids["kusamakura"], entries, rounds) for card in ids["cards"]]
    for reader in threads:
        reader.sign_in()
    samples: list[int] = []
    done = threading.Event()

    def sample():
        while not done.is_set():
            samples.append(rss_of(worker))
            time.sleep(0.2)

    before = rss_of(worker)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    for reader in threads:
        reader.start()
    for reader in threads:
        reader.join()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    latencies = sorted(latency for r in threads for latency in r.latencies)
    third = max(1, len(samples) // 3)
    return {
        "requests": len(latencies), "errors": sum(r.errors for r in threads), "seconds": elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2], "p95_ms": 1000 * latencies[int(len(latencies) * 0.95)],
        "rss_before_mb": before / 2**20, "rss_first_third_mb": max(samples[:third]) / 2**20,
        "rss_last_third_mb": max(samples[-third:]) / 2**20, "rss_max_mb": max(samples) / 2**20,
        "entries_per_round": len(entries),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    instance = Path(tempfile.mkdtemp(prefix="bench-readers-"))
    server = None
    try:
        ids = seed(instance, args.readers)
        port = free_port()
        server = serve(instance, port, args.threads)
        base = f"http://127.0.0.1:{port}"
        times = first_page_times(base, ids)
        labels = {"big": "EPUB fixed layout, 60 drawn pages (generated)", "kusamakura_open": "EPUB kusamakura (vertical)", "pdf": "PDF 50 pages"}
        print("time to first rendered page (ms, median of 3, warm server, cold browser context):")
        for name, values in times.items():
            print(f"  {labels[name]:<28} median {statistics.median(values):7.0f}   max {max(values):7.0f}   target 1500")
        load = load_test(base, server, ids, args.readers, args.rounds)
        print(f"{args.readers} readers x {args.rounds} rounds x {load['entries_per_round']} resources: "
              f"{load['requests']} requests in {load['seconds']:.1f} s, errors {load['errors']}, "
              f"p50 {load['p50_ms']:.0f} ms, p95 {load['p95_ms']:.0f} ms")
        print(f"worker RSS: before {load['rss_before_mb']:.1f} MB, max in first third {load['rss_first_third_mb']:.1f} MB, "
              f"max in last third {load['rss_last_third_mb']:.1f} MB, max {load['rss_max_mb']:.1f} MB")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    main()
