"""The maintenance flag: a small JSON file in the shared storage folder, read without the database.

Every app server of one installation mounts the same ``ELIBRARY_STORAGE_PATH``, so a file there reaches
them all: ``elibrary maintenance on`` (on any machine) writes it atomically (a temporary file renamed over
it), and each worker looks at it with one ``stat`` at most once a second (``FlagReader``), re-reading
it only when it changed. A database that is down or being migrated does not stop the flag working.

The file is ``<ELIBRARY_STORAGE_PATH>/.maintenance.json`` unless ``ELIBRARY_MAINTENANCE_FILE`` says
otherwise; its name starts with a dot, so it is never a storage key (keys are lower-case segments).
"""
from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Mapping

FILE_NAME = ".maintenance.json"
CHECK_EVERY = 1.0  # seconds between two looks at the file in one worker
DEFAULT_RETRY = 300  # Retry-After when no end is planned


@dataclass(frozen=True)
class MaintenanceState:
    """A planned or running stop: full (the 「メンテナンス中」 page) or read-only."""

    message: str = ""
    starts_at: datetime | None = None  # None: from when it was set
    until: datetime | None = None  # the planned end, shown to patrons (None: not announced)
    read_only: bool = False
    set_at: datetime | None = None
    set_by: str = ""

    def active(self, now: datetime) -> bool:
        """Whether the stop is on at ``now`` (a planned stop waits for its start; it never ends by itself)."""
        return self.starts_at is None or self.starts_at <= now

    def retry_after(self, now: datetime) -> int:
        """Seconds a client should wait before trying again (``Retry-After``)."""
        if self.until is None or self.until <= now:
            return DEFAULT_RETRY
        return max(60, int((self.until - now).total_seconds()))

    def to_json(self) -> dict[str, Any]:
        """The file's content."""
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MaintenanceState:
        """Read the file's content (unknown keys are ignored, so older servers read newer files)."""
        def moment(name: str) -> datetime | None:
            value = data.get(name)
            return datetime.fromisoformat(value) if isinstance(value, str) and value else None

        return cls(message=str(data.get("message") or ""), starts_at=moment("starts_at"), until=moment("until"),
                   read_only=bool(data.get("read_only")), set_at=moment("set_at"), set_by=str(data.get("set_by") or ""))


def flag_path(settings: Mapping[str, Any]) -> Path:
    """Where the flag lives: ``ELIBRARY_MAINTENANCE_FILE``, else in the shared storage folder."""
    explicit = settings.get("ELIBRARY_MAINTENANCE_FILE")
    return Path(explicit) if explicit else Path(settings["ELIBRARY_STORAGE_PATH"]) / FILE_NAME


def write_state(path: Path, state: MaintenanceState) -> None:
    """Write the flag atomically (readers see the old file or the new one, never half of one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".maintenance-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(state.to_json(), out, ensure_ascii=False)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def clear_state(path: Path) -> bool:
    """Remove the flag; whether there was one."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def read_state(path: Path) -> MaintenanceState | None:
    """The flag's state now, or None when there is no flag (an unreadable file counts as a full stop)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return MaintenanceState.from_json(json.loads(raw))
    except (ValueError, TypeError, AttributeError):
        return MaintenanceState()  # someone wrote the file by hand: safer to stop than to ignore it


class FlagReader:
    """One worker's view of the flag: a ``stat`` at most every ``CHECK_EVERY`` seconds, a read only on change."""

    def __init__(self, path: Path, clock=time.monotonic) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._checked = -CHECK_EVERY - 1.0
        self._signature: tuple[int, int, int] | None = None
        self._state: MaintenanceState | None = None

    def current(self) -> MaintenanceState | None:
        """The flag's state as this worker last saw it (at most a second old)."""
        now = self._clock()
        if now - self._checked < CHECK_EVERY:
            return self._state
        with self._lock:
            if now - self._checked >= CHECK_EVERY:
                self._refresh()
                self._checked = now
        return self._state

    def read_now(self) -> MaintenanceState | None:
        """The flag as it is on disk now (the admin page, right after a change)."""
        return read_state(self.path)

    def _refresh(self) -> None:
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            self._signature, self._state = None, None
            return
        signature = (info.st_ino, info.st_mtime_ns, info.st_size)
        if signature != self._signature:
            self._state = read_state(self.path)
            self._signature = signature


def announcement_window(state: MaintenanceState, lead_days: int) -> tuple[datetime, datetime] | None:
    """When a planned stop is shown on the home page: ``lead_days`` before its start until its end."""
    if state.starts_at is None:
        return None
    end = state.until or state.starts_at + timedelta(hours=1)
    return state.starts_at - timedelta(days=lead_days), end
