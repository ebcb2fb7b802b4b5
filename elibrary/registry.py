"""Swappable backends chosen by a setting from a plain dict of ``"module:Class"`` names (CTFd's way).

Each interface package (``search``, ``storage``, ``ils``, ``notify``) keeps its own dict; the class is
imported only when chosen, so an unused backend's dependencies need not be installed.
"""
from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from elibrary.config import ConfigError


def load_backend(kind: str, registry: Mapping[str, str], name: str, settings: Mapping[str, Any]) -> Any:
    """Build the backend ``name`` of ``registry`` from the settings via its ``from_settings`` class method."""
    try:
        target = registry[name]
    except KeyError:
        choices = ", ".join(sorted(registry))
        raise ConfigError(f"unknown {kind} backend {name!r} (choose one of: {choices})") from None
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls.from_settings(settings)
