"""The job registry: each scheduled job declared once, read by ``elibrary jobs run`` and the in-process scheduler.

A ``Job`` is a name, a ``Schedule`` in Japan time (``every(seconds)`` or ``daily_at("HH:MM")`` JST), a
lease time, and whether it may run inside a web worker. The wiring room (``elibrary.wiring``) declares
every job of a runtime in one place; registering one is one line::

    runtime.jobs.add(Job("statistics", daily_at("03:30"), stats_jobs.nightly, in_web_worker=False, lease_seconds=3600))

The run function takes ``(runtime, now)`` and returns one line for the operator (or ``None``). It opens
its own transactions (``runtime.db.scope()``); the registry only holds the lease around it.

Leases: before a job runs, its row in ``job_leases`` is taken with one conditional UPDATE (the same on
SQLite and PostgreSQL), so of several processes or app servers on one database only one runs a job at a
time; a holder that died frees the lease when ``lease_seconds`` pass. The row also keeps ``last_run_at``,
so every server sees when a job last ran and the schedule is kept across servers and restarts.

Who runs what:
- the in-process ``Scheduler`` (a daemon thread per web worker, started at the first request) runs the
  due jobs declared ``in_web_worker=True``; heavy jobs (backups, roster imports, statistics, ILS polling)
  are declared ``in_web_worker=False`` and never run there;
- ``elibrary jobs run`` (cron, a systemd timer) runs every job: each interval job at every call (the
  timer is its pace), each daily job when its time today has come and it has not run since;
  ``elibrary jobs run NAME`` runs the named jobs now, whatever their schedule.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from elibrary import logs
from elibrary.db import Base, Database, UTCDateTime, utcnow

log = logging.getLogger(__name__)

TOKYO = ZoneInfo("Asia/Tokyo")
LONGEST_TICK = 60  # the in-process scheduler looks at the schedule at least this often (seconds)


class JobLease(Base):
    """Who runs a scheduled job now, and when it last ran: taken with a conditional UPDATE, so one at a time."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100), default="")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class Schedule:
    """When a job is due: every ``interval``, or daily at ``daily_at`` Japan time (JST)."""

    interval: timedelta | None = None
    daily_at: time | None = None

    def latest_slot(self, now: datetime) -> datetime | None:
        """For a daily job, the latest time ``HH:MM`` JST not after ``now`` (today's or yesterday's)."""
        if self.daily_at is None:
            return None
        local = now.astimezone(TOKYO)
        slot = local.replace(hour=self.daily_at.hour, minute=self.daily_at.minute, second=0, microsecond=0)
        return slot if slot <= local else slot - timedelta(days=1)

    def is_due(self, last_run: datetime | None, now: datetime, *, on_demand: bool = False) -> bool:
        """Whether the job should run at ``now`` (``on_demand``: called by ``elibrary jobs run``, the pace of interval jobs)."""
        if self.daily_at is not None:
            return last_run is None or last_run < self.latest_slot(now)  # type: ignore[operator]
        return on_demand or last_run is None or now >= last_run + self.interval  # type: ignore[operator]

    def next_due(self, last_run: datetime | None, now: datetime) -> datetime:
        """When the job will next be due (``now`` if it is due already)."""
        if self.is_due(last_run, now):
            return now
        if self.daily_at is not None:
            return self.latest_slot(now) + timedelta(days=1)  # type: ignore[operator]
        return last_run + self.interval  # type: ignore[operator]

    def describe(self) -> str:
        """For ``elibrary jobs list``: ``every 300 s`` or ``daily 03:30 JST``."""
        if self.daily_at is not None:
            return f"daily {self.daily_at.strftime('%H:%M')} JST"
        return f"every {int(self.interval.total_seconds())} s"  # type: ignore[union-attr]


def every(seconds: int) -> Schedule:
    """A schedule of one run per ``seconds``."""
    if seconds <= 0:
        raise ValueError("an interval schedule needs a positive number of seconds")
    return Schedule(interval=timedelta(seconds=seconds))


def daily_at(hhmm: str) -> Schedule:
    """A schedule of one run a day at ``"HH:MM"`` Japan time."""
    return Schedule(daily_at=time.fromisoformat(hhmm))


RunFunction = Callable[[Any, datetime], "str | None"]


@dataclass(frozen=True)
class Job:
    """A scheduled job: ``run(runtime, now)`` returns one line for the operator, or None."""

    name: str
    schedule: Schedule
    run: RunFunction
    in_web_worker: bool = True  # heavy jobs: False (run only by ``elibrary jobs run`` or a worker process)
    lease_seconds: int = 300  # longer than the job can take: a dead holder's lease frees itself after this
    description: str = ""


class JobRegistry:
    """The jobs of one runtime, in the order declared."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}

    def add(self, job: Job) -> Job:
        """Declare a job (names are unique)."""
        if job.name in self._jobs:
            raise ValueError(f"job {job.name!r} is declared twice")
        if len(job.name) > 40:
            raise ValueError(f"job name {job.name!r} is longer than 40 characters")
        self._jobs[job.name] = job
        return job

    def get(self, name: str) -> Job:
        """The job called ``name`` (``KeyError`` if there is none)."""
        return self._jobs[name]

    def __iter__(self) -> Iterator[Job]:
        return iter(list(self._jobs.values()))

    def __len__(self) -> int:
        return len(self._jobs)

    def for_web_worker(self) -> list[Job]:
        """The jobs the in-process scheduler of a web worker may run."""
        return [job for job in self if job.in_web_worker]


def new_holder() -> str:
    """A lease holder name unique to this process and call: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:100]


def take_lease(db: Database, name: str, holder: str, now: datetime, seconds: int) -> bool:
    """Take the lease of job ``name`` if free or expired (one conditional UPDATE; the row is created once)."""
    with db.scope() as session:
        if session.get(JobLease, name) is None:
            try:
                with session.begin_nested():
                    session.add(JobLease(name=name, holder="", expires_at=now - timedelta(seconds=1)))
            except IntegrityError:
                pass  # another process created it first
        result = session.execute(
            update(JobLease)
            .where(JobLease.name == name, or_(JobLease.expires_at <= now, JobLease.holder == holder))
            .values(holder=holder, expires_at=now + timedelta(seconds=seconds))
        )
        return result.rowcount == 1


def release_lease(db: Database, name: str, holder: str, now: datetime) -> None:
    """Give the lease back, noting ``now`` as the job's last run."""
    with db.scope() as session:
        session.execute(
            update(JobLease).where(JobLease.name == name, JobLease.holder == holder).values(holder="", expires_at=now, last_run_at=now)
        )


def last_run(db: Database, name: str) -> datetime | None:
    """When job ``name`` last ran on this database (any server), or None."""
    with db.scope(write=False) as session:
        lease = session.get(JobLease, name)
        return lease.last_run_at if lease is not None else None


@dataclass(frozen=True)
class Outcome:
    """What happened to one job in one pass."""

    name: str
    ran: bool
    message: str | None = None

    def line(self) -> str:
        """One line for the operator."""
        if not self.ran:
            return f"{self.name}: another process is running it; nothing done"
        return self.message or f"{self.name}: done"


def run_job(runtime: Any, job: Job, now: datetime | None = None, *, holder: str | None = None) -> Outcome:
    """Run ``job`` under its lease now; ``ran=False`` when another process holds the lease."""
    now = now or utcnow()
    holder = holder or new_holder()
    if not take_lease(runtime.db, job.name, holder, now, job.lease_seconds):
        return Outcome(job.name, False)
    try:
        with logs.request_context(f"job-{job.name}-{logs.new_request_id()[:8]}"):  # its log lines share one id
            return Outcome(job.name, True, job.run(runtime, now))
    finally:
        release_lease(runtime.db, job.name, holder, now)


def run_due(runtime: Any, jobs: Iterable[Job], now: datetime | None = None, *, on_demand: bool = False) -> list[Outcome]:
    """Run each of ``jobs`` that is due at ``now`` (by the ``last_run_at`` every server shares)."""
    now = now or utcnow()
    return [run_job(runtime, job, now) for job in jobs if job.schedule.is_due(last_run(runtime.db, job.name), now, on_demand=on_demand)]


def scheduler_tick(jobs: Iterable[Job]) -> int:
    """How often the in-process scheduler should look: the shortest interval of ``jobs``, at most ``LONGEST_TICK``; 0 if none."""
    jobs = list(jobs)
    if not jobs:
        return 0
    intervals = [int(job.schedule.interval.total_seconds()) for job in jobs if job.schedule.interval is not None]
    return max(1, min([LONGEST_TICK, *intervals]))


class Scheduler:
    """Runs the due web-worker jobs of a runtime every ``tick`` seconds on a daemon thread, started lazily per process."""

    def __init__(self, runtime: Any, tick: int) -> None:
        self._runtime = runtime
        self.tick = tick
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def ensure_started(self) -> None:
        """Start the thread in this process if it is not running (gunicorn forks after create_app)."""
        if self.tick <= 0:
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="elibrary-jobs", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        """End the thread after its current pass and wait for it (tests, shutdown)."""
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout)

    def run_once(self, now: datetime | None = None) -> list[Outcome]:
        """One look at the schedule: run the due jobs a web worker may run (never the heavy ones)."""
        outcomes = []
        for job in self._runtime.jobs.for_web_worker():
            try:
                outcomes.extend(run_due(self._runtime, [job], now))
            except Exception:
                log.exception("scheduled job %s failed; retrying when it is next due", job.name)
        return outcomes

    def _loop(self) -> None:
        while not self._stop.wait(self.tick):
            for outcome in self.run_once():
                if outcome.ran and outcome.message:
                    log.info("job %s", outcome.message)
