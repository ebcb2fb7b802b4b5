"""``/metrics``: Prometheus's text format (checked by Debian's ``promtool``), by route, allowed addresses only,
gauges from the database, and the multiprocess mode under a real gunicorn with two workers."""
from __future__ import annotations

import re
import shutil
import subprocess
import urllib.error
import urllib.request

import pytest

from elibrary import create_app
from elibrary.ils.base import ILSUnavailable
from elibrary.lending import services as lending
from elibrary.monitoring.ils import CountedConnector
from elibrary.monitoring.metrics import process_metrics
from tests.conftest import make_test_config
from tests.lending.factories import make_licensed_title, make_patron
from tests.monitoring.servers import gunicorn

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: apt-get install prometheus (make system-packages)")


def promtool_check(text: str) -> None:
    """``promtool check metrics`` reads the exposition on stdin; it fails on format errors (and lint problems)."""
    result = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    assert result.returncode == 0, (result.stdout + result.stderr).decode()


def value(text: str, series: str) -> float:
    """The value of one series line (``name{labels}``) of an exposition."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{series} not in the exposition")


@needs_promtool
def test_metrics_by_route_with_database_gauges_pass_promtool(client, rt):
    with rt.db.scope() as session:  # one copy, borrowed by one patron, waited for by two
        title = make_licensed_title(session, copies=1)
        lending.borrow(session, make_patron(session, rt.cipher), title.id)
        for _ in range(2):
            lending.place_hold(session, make_patron(session, rt.cipher), title.id)
    client.get("/")
    client.get("/titles/999999")  # a route with a parameter: counted by its endpoint name, never the raw path
    client.get("/no/such/page")
    text = client.get("/metrics").get_data(as_text=True)
    promtool_check(text)
    assert 'elibrary_http_requests_total{endpoint="catalog.home",method="GET",status="200"}' in text
    assert 'endpoint="catalog.title"' in text
    assert not re.search(r"\{[^}]*(999999|/titles/)[^}]*\}", text)  # no raw path in any label (values may hold such digits)
    assert 'elibrary_http_requests_total{endpoint="unmatched",method="GET",status="404"}' in text
    assert value(text, "elibrary_loans_active") == 1 and value(text, "elibrary_holds_waiting") == 2
    assert value(text, "elibrary_outbox_backlog") == 0 and value(text, "elibrary_scrape_read_errors") == 0
    assert "elibrary_search_index_lag_changes" in text and "elibrary_http_request_duration_seconds_bucket" in text


def test_metrics_answer_only_configured_addresses(app_config):
    app_config["ELIBRARY_METRICS_ALLOW"] = "10.0.0.0/8"
    client = create_app(app_config).test_client()
    assert client.get("/metrics").status_code == 404  # the test client is 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.30.40"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 404


def test_metrics_behind_a_trusted_proxy_see_the_client_not_the_proxy(app_config):
    app_config["ELIBRARY_TRUSTED_PROXIES"] = 1
    client = create_app(app_config).test_client()
    outside = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})  # nginx on 127.0.0.1 forwarding an outsider
    assert outside.status_code == 404


def test_ils_calls_that_find_it_down_are_counted():
    class Down:
        name = "fake"

        def authenticate(self, card, pin):
            raise ILSUnavailable("no answer")

    counted = CountedConnector(Down())
    before = process_metrics().ils_errors.labels(operation="authenticate")._value.get()
    with pytest.raises(ILSUnavailable):
        counted.authenticate("1", "2")
    assert process_metrics().ils_errors.labels(operation="authenticate")._value.get() == before + 1
    assert counted.name == "fake"


@needs_promtool
@pytest.mark.slow
def test_two_gunicorn_workers_add_up_in_multiprocess_mode(tmp_path, database_url):
    config = make_test_config(tmp_path / "instance", database_url, ELIBRARY_NOTIFIER="log")
    create_app(config).extensions["elibrary"].db.dispose()
    metrics_dir = tmp_path / "metrics"
    with gunicorn(config, tmp_path, workers=2, extra_env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}) as base:
        for _ in range(40):  # spread over both workers
            urllib.request.urlopen(base + "/", timeout=60).read()
        text = urllib.request.urlopen(base + "/metrics", timeout=60).read().decode()
        pids = {p.name for p in metrics_dir.iterdir()}
    promtool_check(text)
    assert value(text, 'elibrary_http_requests_total{endpoint="catalog.home",method="GET",status="200"}') == 40
    assert len([p for p in pids if p.startswith("counter_")]) >= 1
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(base + "/metrics", timeout=5)  # stopped


@needs_promtool
def test_backup_age_is_a_gauge_once_a_backup_has_succeeded(client, rt):
    from datetime import timedelta

    from elibrary.backup.models import BackupRun
    from elibrary.db import utcnow

    assert "elibrary_backup_age_seconds " not in client.get("/metrics").get_data(as_text=True)  # none yet: no value
    with rt.db.scope() as session:
        session.add(BackupRun(kind="backup", started_at=utcnow() - timedelta(hours=2), ok=True))
        session.add(BackupRun(kind="backup", started_at=utcnow() - timedelta(minutes=5), ok=False))  # a failure is no backup
    text = client.get("/metrics").get_data(as_text=True)
    promtool_check(text)
    assert 7190 < value(text, "elibrary_backup_age_seconds") < 7300
