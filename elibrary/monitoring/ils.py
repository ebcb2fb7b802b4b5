"""The ILS connector counted: every call that fails because the library system does not answer is a metric."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from elibrary.ils.base import ILSUnavailable
from elibrary.monitoring.metrics import process_metrics


class CountedConnector:
    """Wraps a connector: same methods and attributes, ``ILSUnavailable`` counted in ``elibrary_ils_errors_total``."""

    def __init__(self, connector: Any) -> None:
        object.__setattr__(self, "_connector", connector)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._connector, name, value)  # the connector's own state (a fake's switches, a pool's settings)

    @property
    def wrapped(self) -> Any:
        """The connector inside."""
        return self._connector

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._connector, name)
        if name.startswith("_") or not callable(value):
            return value
        return _counted(name, value)


def _counted(operation: str, method: Callable) -> Callable:
    @wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except ILSUnavailable:
            process_metrics().ils_errors.labels(operation=operation).inc()
            raise

    return call
