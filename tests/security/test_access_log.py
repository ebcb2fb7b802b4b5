"""#11 item 3: a real gunicorn with the access log on, an OPDS Basic-auth session, and a grep of the log.

The same session through gunicorn's own default logger writes the card number (the control: this test
can fail); through ``elibrary.web.accesslog.AccessLogger`` with the Makefile's format it writes no card
number, PIN, query string or registration token.
"""
from __future__ import annotations

import base64
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from elibrary import create_app
from elibrary.web.accesslog import ACCESS_LOG_FORMAT
from tests.conftest import make_test_config

ROOT = Path(__file__).resolve().parents[2]
CARD, PIN, TOKEN = "31234567", "2468", "tOkEn-abc123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_session(config: dict, log: Path, extra_args: list[str]) -> str:
    """Serve with gunicorn, make an OPDS app's requests, stop, and return the access log."""
    port = free_port()
    env = {**os.environ, **{k: str(v) for k, v in config.items() if k.startswith("ELIBRARY_")}}
    args = [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}", "--access-logfile", str(log), *extra_args, "wsgi:app"]
    errors = log.with_suffix(".err")
    with errors.open("wb") as err:
        server = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a loaded 2-core machine may take a while to start a worker
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=30).read()
                break
            except OSError:  # refused while starting, or timed out (URLError and TimeoutError are OSErrors)
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(errors.read_text()) from None
                time.sleep(0.2)
        auth = {"Authorization": "Basic " + base64.b64encode(f"{CARD}:{PIN}".encode()).decode(), "Accept": "application/opds+json"}
        for path in ("/opds/v2/", "/opds/v2/shelf", "/opds/v2/search?q=%E7%8C%AB", "/opds/v1/"):
            try:
                urllib.request.urlopen(urllib.request.Request(base + path, headers=auth), timeout=60).read()
            except urllib.error.HTTPError:
                pass
        try:
            urllib.request.urlopen(base + f"/register/confirm/{TOKEN}", timeout=60).read()
        except urllib.error.HTTPError:
            pass
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return log.read_text()


def test_no_card_number_pin_search_or_token_in_the_access_log(tmp_path, database_url):
    config = make_test_config(tmp_path / "instance", database_url, ELIBRARY_NOTIFIER="log")
    app = create_app(config)
    assert app.test_cli_runner().invoke(args=["patrons", "add", CARD, "--pin", PIN]).exit_code == 0
    app.extensions["elibrary"].db.dispose()

    plain = run_session(config, tmp_path / "default.log", [])  # gunicorn's own default format names the Basic user
    assert CARD in plain

    ours = run_session(config, tmp_path / "access.log",
                       ["--logger-class", "elibrary.web.accesslog.AccessLogger", "--access-logformat", ACCESS_LOG_FORMAT])
    assert ours.count("/opds/v2/") >= 2 and " 200 " in ours  # the requests were logged...
    assert CARD not in ours and PIN not in ours and TOKEN not in ours and "q=" not in ours  # ...without what they carried
    assert "/register/confirm/***" in ours

    # A custom format naming the user or the Authorization header writes nothing either.
    leaky = run_session(config, tmp_path / "leaky.log",
                        ["--logger-class", "elibrary.web.accesslog.AccessLogger", "--access-logformat", '%(u)s %(r)s %({authorization}i)s'])
    assert CARD not in leaky and base64.b64encode(f"{CARD}:{PIN}".encode()).decode() not in leaky


def test_the_makefile_and_the_documented_commands_use_the_scrubbing_logger():
    # gunicorn's config module names the logger and a format with nothing more than ours (read, not imported:
    # importing it sets PROMETHEUS_MULTIPROC_DIR for the process)
    conf = (ROOT / "elibrary" / "web" / "gunicorn_conf.py").read_text()
    assert 'logger_class = "elibrary.web.accesslog.AccessLogger"' in conf
    assert 'access_log_format = ACCESS_LOG_FORMAT + " %({x-request-id}o)s"' in conf
    scrubbing = ("elibrary.web.accesslog.AccessLogger", "-c python:elibrary.web.gunicorn_conf")
    makefile = (ROOT / "Makefile").read_text()
    assert "-c python:elibrary.web.gunicorn_conf" in makefile
    # every gunicorn command line the README, docs/ or deploy/ tell an operator to run (continuation lines joined)
    commands = []
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "deploy").rglob("*.service"))]
    for page in pages:
        text = page.read_text(encoding="utf-8").replace("\\\n", " ")
        commands += [line for line in text.splitlines() if re.search(r"^\s*(ExecStart=)?\S*gunicorn .*wsgi:app", line)]
    assert commands and all(any(s in line for s in scrubbing) for line in commands), commands


def test_the_development_servers_request_log_is_scrubbed(app, caplog):
    import logging

    from werkzeug.serving import _log

    with caplog.at_level(logging.INFO, logger="werkzeug"):
        _log("info", '127.0.0.1 - - [x] "%s" %s %s', f"GET /register/confirm/{TOKEN}?card={CARD} HTTP/1.1", "200", "-")
        _log("info", '127.0.0.1 - - [x] "%s" %s %s', "GET /search?q=%E7%8C%AB HTTP/1.1", "200", "-")
    text = caplog.text
    assert "GET /register/confirm/*** HTTP/1.1" in text and "GET /search HTTP/1.1" in text
    assert TOKEN not in text and CARD not in text and "q=" not in text
