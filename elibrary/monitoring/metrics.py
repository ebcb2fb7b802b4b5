"""Prometheus metrics (``/metrics``): requests by route, and gauges read from the database at scrape time.

Counters and histograms of requests and ILS errors are kept by ``prometheus_client``. Under gunicorn each
worker is a process of its own, so they live in ``prometheus_client``'s multiprocess mode: the directory of
``PROMETHEUS_MULTIPROC_DIR`` (set by ``elibrary.web.gunicorn_conf`` before any worker starts, emptied when
gunicorn starts, a dead worker's files marked by ``child_exit``) holds one file per worker, and a scrape
adds them up. Without the variable (the development server, tests, the CLI) they are this process's own.

Gauges that are facts of the database (loans, holds waiting, outbox backlog, search index lag) are not
counted by anyone: ``ScrapeGauges`` asks the database when Prometheus scrapes, so every worker answers the
same. They are declared in the wiring room (``elibrary.wiring._declare_gauges``) as ``Gauge`` entries: the
backup age belongs there too, declared by the backup work.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.orm import Session

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ProcessMetrics:
    """The counted metrics of this process (one set per process, whatever the number of apps in it)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("elibrary_http_requests", "HTTP requests answered, by route (endpoint name), method and status",
                                ["endpoint", "method", "status"], registry=self.registry)
        self.latency = Histogram("elibrary_http_request_duration_seconds", "Time to answer an HTTP request, by route (endpoint name)",
                                 ["endpoint"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.ils_errors = Counter("elibrary_ils_errors", "Calls to the library system (ILS) that failed because it did not answer",
                                  ["operation"], registry=self.registry)


_lock = threading.Lock()
_process: ProcessMetrics | None = None


def process_metrics() -> ProcessMetrics:
    """This process's metrics, made on first use (after gunicorn's fork: each worker writes its own files)."""
    global _process
    with _lock:
        if _process is None:
            _process = ProcessMetrics()
        return _process


@dataclass(frozen=True)
class Gauge:
    """A gauge read at scrape time: ``read(session, runtime)`` returns the value, or None when unknown."""

    name: str
    help: str
    read: Callable[[Session, Any], float | None]


@dataclass
class GaugeRegistry:
    """The scrape-time gauges of one runtime, declared in the wiring room."""

    gauges: list[Gauge] = field(default_factory=list)

    def add(self, gauge: Gauge) -> None:
        """Declare a gauge; names are unique."""
        if any(g.name == gauge.name for g in self.gauges):
            raise ValueError(f"gauge {gauge.name} declared twice")
        self.gauges.append(gauge)


class ScrapeGauges:
    """A collector asking the database for each declared gauge (one read-only transaction per scrape)."""

    def __init__(self, runtime: Any, registry: GaugeRegistry) -> None:
        self.runtime = runtime
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        """One family per gauge; a gauge that cannot be read is left out and counted in ``elibrary_scrape_read_errors``."""
        errors = 0
        families: list[Metric] = []
        with self.runtime.db.scope(write=False) as session:
            for gauge in self.registry.gauges:
                try:
                    with session.begin_nested():
                        value = gauge.read(session, self.runtime)
                except Exception:  # one broken gauge never hides the others
                    errors += 1
                    continue
                if value is not None:
                    families.append(GaugeMetricFamily(gauge.name, gauge.help, value=float(value)))
        yield from families
        yield GaugeMetricFamily("elibrary_scrape_read_errors", "Scrape-time gauges that could not be read on this scrape", value=errors)


def exposition(runtime: Any, gauges: GaugeRegistry) -> bytes:
    """The text exposition format: counted metrics (all workers' in multiprocess mode) and the scrape-time gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(registry)
    else:
        registry.register(_Forward(process_metrics().registry))
    registry.register(ScrapeGauges(runtime, gauges))
    return generate_latest(registry)


class _Forward:
    """Collect another registry's metrics into this one."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterable[Metric]:
        return self.source.collect()
