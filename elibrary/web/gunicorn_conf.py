"""gunicorn's settings for elibrary: ``gunicorn -c python:elibrary.web.gunicorn_conf wsgi:app``.

- **Prometheus multiprocess mode.** Each worker is a process, so ``/metrics`` adds up per-worker files in
  ``PROMETHEUS_MULTIPROC_DIR``. The variable must be set before ``prometheus_client`` is first imported,
  so it is set here, in the master, before any worker loads the app: the operator's value (systemd
  unit: ``/run/elibrary/metrics``) or a fresh directory under the temporary folder. ``on_starting``
  empties it (files of a previous run would be added to this one's counts) and ``child_exit`` marks a
  dead worker's files, as prometheus_client asks.
- **Access log without personal data**, with the request id: ``elibrary.web.accesslog.AccessLogger`` and
  ``ACCESS_LOG_FORMAT`` plus the ``X-Request-ID`` response header.

Anything here may be overridden on the command line (``--workers``, ``--bind``, ``--access-logfile``).
"""
from __future__ import annotations

import os
import shutil
import tempfile

from elibrary.web.accesslog import ACCESS_LOG_FORMAT

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
if not os.environ.get(MULTIPROC_ENV):
    os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="elibrary-metrics-")

logger_class = "elibrary.web.accesslog.AccessLogger"
access_log_format = ACCESS_LOG_FORMAT + " %({x-request-id}o)s"
accesslog = os.environ.get("ELIBRARY_ACCESS_LOG") or "-"


def on_starting(server) -> None:
    """Start with an empty metrics directory (created if missing, mode 0700)."""
    path = os.environ[MULTIPROC_ENV]
    if os.path.isdir(path):
        for name in os.listdir(path):
            if name.endswith(".db"):
                os.unlink(os.path.join(path, name))
    else:
        os.makedirs(path, mode=0o700, exist_ok=True)


def child_exit(server, worker) -> None:
    """A worker ended: its live gauges no longer count (prometheus_client's multiprocess rule)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    """Remove the directory we made ourselves (never an operator's)."""
    path = os.environ.get(MULTIPROC_ENV, "")
    if os.path.basename(path).startswith("elibrary-metrics-") and os.path.dirname(path) == tempfile.gettempdir():
        shutil.rmtree(path, ignore_errors=True)
