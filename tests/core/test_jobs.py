"""The job registry: schedules in Japan time, one runner per lease across servers, heavy jobs kept out of web workers."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from elibrary import jobs
from elibrary.jobs import Job, JobRegistry, Scheduler, daily_at, every
from elibrary.wiring import build_runtime

UTC = timezone.utc


def test_daily_schedule_is_in_japan_time():
    nightly = daily_at("03:30")  # 03:30 JST is 18:30 UTC of the day before
    now = datetime(2026, 12, 5, 18, 0, tzinfo=UTC)  # 03:00 JST on 6 December
    assert nightly.latest_slot(now) == datetime(2026, 12, 4, 18, 30, tzinfo=UTC)
    assert nightly.is_due(None, now)  # never run: due at once
    ran = datetime(2026, 12, 4, 18, 31, tzinfo=UTC)
    assert not nightly.is_due(ran, now)
    assert nightly.next_due(ran, now) == datetime(2026, 12, 5, 18, 30, tzinfo=UTC)
    assert not nightly.is_due(ran, datetime(2026, 12, 5, 18, 29, tzinfo=UTC))
    assert nightly.is_due(ran, datetime(2026, 12, 5, 18, 30, tzinfo=UTC))
    assert not nightly.is_due(ran, now, on_demand=True)  # `jobs run` from cron does not repeat a daily job
    assert nightly.describe() == "daily 03:30 JST"


def test_interval_schedule():
    five_minutes = every(300)
    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert five_minutes.is_due(None, now)
    assert not five_minutes.is_due(now - timedelta(seconds=299), now)
    assert five_minutes.is_due(now - timedelta(seconds=300), now)
    assert five_minutes.is_due(now - timedelta(seconds=1), now, on_demand=True)  # the command is the pace
    assert five_minutes.next_due(now - timedelta(seconds=100), now) == now + timedelta(seconds=200)
    with pytest.raises(ValueError):
        every(0)


def test_a_job_is_declared_once():
    registry = JobRegistry()
    registry.add(Job("a", every(60), lambda rt, now: None))
    with pytest.raises(ValueError):
        registry.add(Job("a", daily_at("02:00"), lambda rt, now: None))


def test_the_runtime_declares_todays_jobs(rt):
    assert [job.name for job in rt.jobs] == ["lending", "notifications", "search-queue", "security-alerts", "security-events-retention", "school-erasure",
                                             "usage-flush", "stats-year-keys", "stats-rollup", "stats-monthly-report"]
    assert [job.name for job in rt.jobs.for_web_worker()] == ["lending", "notifications", "security-alerts", "usage-flush"]
    assert rt.jobs.get("lending").schedule == every(300) and rt.jobs.get("lending").lease_seconds == 300


@pytest.fixture
def second_server(app_config):
    """A second runtime on the same database, as a second app server would have."""
    other = build_runtime({**_settings(app_config)})
    yield other
    other.db.dispose()


def _settings(app_config):
    from elibrary.wiring import instance_settings

    return instance_settings(app_config["ELIBRARY_INSTANCE_PATH"], app_config, environ={})


def test_the_lease_excludes_a_second_runner_on_another_thread_and_engine(rt, second_server):
    inside, release = threading.Event(), threading.Event()

    def slow(runtime, now):
        inside.set()
        assert release.wait(30)
        return "slow: done"

    job = Job("slow-report", every(60), slow)
    first: list = []
    runner = threading.Thread(target=lambda: first.append(jobs.run_job(rt, job)))
    runner.start()
    try:
        assert inside.wait(30)
        outcome = jobs.run_job(second_server, job)  # another server (its own engine) while the first holds the lease
        assert outcome.ran is False and "another process" in outcome.line()
    finally:
        release.set()
        runner.join(30)
    assert first[0].ran and first[0].message == "slow: done"
    assert jobs.run_job(second_server, job).ran  # released: the next runner may take it
    # every server sees when it last ran: not due again on either
    assert not job.schedule.is_due(jobs.last_run(rt.db, job.name), jobs.utcnow())


def test_a_dead_holders_lease_expires(rt):
    now = jobs.utcnow()
    assert jobs.take_lease(rt.db, "x", "server-a", now, 60)
    assert not jobs.take_lease(rt.db, "x", "server-b", now + timedelta(seconds=59), 60)
    assert jobs.take_lease(rt.db, "x", "server-b", now + timedelta(seconds=61), 60)


def test_the_in_process_scheduler_never_runs_heavy_jobs(rt):
    ran: list[str] = []
    rt.jobs.add(Job("light", every(1), lambda runtime, now: ran.append("light") or "light: done"))
    rt.jobs.add(Job("backup", every(1), lambda runtime, now: ran.append("backup") or "backup: done", in_web_worker=False))
    scheduler = Scheduler(rt, tick=1)
    scheduler.ensure_started()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and ran.count("light") < 2:
            time.sleep(0.1)
    finally:
        scheduler.stop()
    assert ran.count("light") >= 2 and "backup" not in ran
    assert jobs.last_run(rt.db, "backup") is None


def test_jobs_run_runs_heavy_jobs_and_daily_jobs_once(runner, rt):
    ran: list[str] = []
    rt.jobs.add(Job("backup", every(3600), lambda runtime, now: ran.append("backup") or "backup: done", in_web_worker=False))
    rt.jobs.add(Job("nightly", daily_at("00:00"), lambda runtime, now: ran.append("nightly") or "nightly: done", in_web_worker=False))
    result = runner.invoke(args=["jobs", "run"])
    assert result.exit_code == 0, result.output
    assert "lending: loans expired 0" in result.output and "backup: done" in result.output and "nightly: done" in result.output
    again = runner.invoke(args=["jobs", "run"])
    assert "backup: done" in again.output and "nightly: done" not in again.output  # once a day
    forced = runner.invoke(args=["jobs", "run", "nightly"])
    assert forced.exit_code == 0 and forced.output.strip() == "nightly: done"
    assert ran == ["backup", "nightly", "backup", "nightly"]
    unknown = runner.invoke(args=["jobs", "run", "no-such-job"])
    assert unknown.exit_code == 1 and "No job called no-such-job" in unknown.output


def test_jobs_list(runner, rt):
    result = runner.invoke(args=["jobs", "list"])
    assert result.exit_code == 0, result.output
    lines = {line.split("\t")[0]: line.split("\t") for line in result.output.splitlines()}
    assert lines["lending"][1:3] == ["every 300 s", "web+command"]
    assert lines["search-queue"][2] == "command only"
