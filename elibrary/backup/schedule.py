"""Scheduled backups: the ``backup`` job, retention, restore drills, notices to staff, and the status for health.

``ELIBRARY_BACKUP_SCHEDULE = "03:00"`` declares the job (``elibrary.wiring``); it runs only from
``elibrary jobs run`` (cron, a systemd timer), never in a web worker. Each run writes an incremental
archive into ``ELIBRARY_BACKUP_DIR`` (book files into the content-addressed ``objects`` folder beside it,
each once), keeps the newest archive of each of the last ``KEEP_DAILY`` days, ``KEEP_WEEKLY`` ISO weeks
and ``KEEP_MONTHLY`` months (Japan time), deletes the others and the objects no kept archive names, and,
every ``ELIBRARY_BACKUP_DRILL_DAYS`` days, restores the new archive into a scratch database
(``elibrary.backup.drill``). Every run is a ``BackupRun`` row; a failure is also an e-mail to the admins
through the outbox. Archives made by hand (``elibrary backup create``) are never removed by retention.
"""
from __future__ import annotations

import logging
import tarfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from elibrary.backup.archive import backup_name, create_backup
from elibrary.backup.drill import verify_backup_file
from elibrary.backup.models import BackupRun
from elibrary.backup.objects import DIR_NAME, ObjectStore
from elibrary.backup.restore import read_manifest
from elibrary.db import utcnow
from elibrary.notify.base import Message
from elibrary.notify.outbox import enqueue
from elibrary.staff.models import Role, StaffUser

log = logging.getLogger(__name__)
TOKYO = ZoneInfo("Asia/Tokyo")
PATTERN = "elibrary-backup-*.tar"


@dataclass(frozen=True)
class Retention:
    """How many scheduled archives to keep: the newest of each of the last N days, M weeks and K months."""

    daily: int = 7
    weekly: int = 4
    monthly: int = 6

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Retention:
        """``ELIBRARY_BACKUP_KEEP_DAILY`` / ``_WEEKLY`` / ``_MONTHLY``."""
        return cls(int(settings.get("ELIBRARY_BACKUP_KEEP_DAILY", 7)), int(settings.get("ELIBRARY_BACKUP_KEEP_WEEKLY", 4)),
                   int(settings.get("ELIBRARY_BACKUP_KEEP_MONTHLY", 6)))

    def keep(self, taken: list[datetime]) -> set[datetime]:
        """Which of the times ``taken`` to keep (the newest always)."""
        newest_first = sorted(taken, reverse=True)
        kept = set(newest_first[:1])
        buckets = ((self.daily, lambda t: t.date()), (self.weekly, lambda t: t.isocalendar()[:2]), (self.monthly, lambda t: (t.year, t.month)))
        for count, bucket in buckets:
            seen: list[Any] = []
            for moment in newest_first:
                key = bucket(moment.astimezone(TOKYO))
                if key in seen:
                    continue
                if len(seen) >= count:
                    break
                seen.append(key)
                kept.add(moment)
        return kept


def backup_dir(settings: Mapping[str, Any]) -> Path:
    """``ELIBRARY_BACKUP_DIR`` (``instance/backups`` unless set)."""
    return Path(settings["ELIBRARY_BACKUP_DIR"])


def _taken_at(path: Path) -> datetime | None:
    try:
        return datetime.strptime(path.name, "elibrary-backup-%Y%m%dT%H%M%SZ.tar").replace(tzinfo=ZoneInfo("UTC"))
    except ValueError:
        return None


def _manifest(path: Path) -> dict[str, Any] | None:
    try:
        with tarfile.open(path, mode="r:") as tar:
            return read_manifest(tar)
    except Exception:  # a damaged archive: never deleted by retention, never trusted for references
        return None


def apply_retention(folder: Path, policy: Retention) -> int:
    """Delete scheduled archives outside ``policy`` and objects no remaining archive names; how many archives went."""
    scheduled: dict[datetime, Path] = {}
    referenced: set[str] = set()
    for path in sorted(folder.glob(PATTERN)):
        manifest, taken = _manifest(path), _taken_at(path)
        if manifest is None or taken is None:
            continue
        if manifest.get("objects") == DIR_NAME:
            scheduled[taken] = path
    kept = policy.keep(list(scheduled))
    removed = 0
    for taken, path in scheduled.items():
        if taken not in kept:
            path.unlink()
            removed += 1
    for path in sorted(folder.glob(PATTERN)):
        manifest = _manifest(path)
        if manifest is not None:
            referenced.update(entry["sha256"] for entry in manifest["members"].values() if entry.get("ref"))
    ObjectStore(folder / DIR_NAME).prune(referenced)
    return removed


def _record(db, **values) -> int:
    with db.scope() as session:
        row = BackupRun(**values)
        session.add(row)
        session.flush()
        return row.id


def _finish(db, run_id: int, cipher, **values) -> None:
    with db.scope() as session:
        row = session.get(BackupRun, run_id)
        for name, value in values.items():
            setattr(row, name, value)
        if values.get("ok") is False:
            notify_admins(session, cipher, row)


def notify_admins(session: Session, cipher, run: BackupRun) -> int:
    """A notice by e-mail (the outbox) to every active admin that a backup or drill failed; how many."""
    what_ja, what_en = ("バックアップ", "backup") if run.kind == "backup" else ("復元テスト", "restore drill")
    admins = session.scalars(select(StaffUser).where(StaffUser.role == Role.admin, StaffUser.active.is_(True)))
    sent = 0
    for admin in admins:
        body = (f"{run.started_at.astimezone(TOKYO):%Y-%m-%d %H:%M} の{what_ja}が失敗しました。\n理由: {run.message}\n"
                "管理画面の「バックアップ」と 障害対応フロー を確認してください。\n\n"
                f"The {what_en} of {run.started_at:%Y-%m-%d %H:%M} UTC failed: {run.message}")
        enqueue(session, cipher, Message(channel="email", address=admin.email, subject=f"【要確認】{what_ja}の失敗 / {what_en} failed", body=body,
                                         kind="staff"))
        sent += 1
    return sent


def _one_line(exc: BaseException) -> str:
    text = getattr(exc, "message_en", None) or f"{type(exc).__name__}: {exc}"
    return " ".join(str(text).split())[:480]


def scheduled_backup(runtime: Any, now: datetime) -> str:
    """The ``backup`` job: write, prune, drill when due; one line for the operator (a failure is recorded, not raised)."""
    from elibrary import __version__

    settings = runtime.settings
    folder = backup_dir(settings)
    run_id = _record(runtime.db, kind="backup", started_at=now)
    try:
        summary = create_backup(runtime.db.engine, runtime.storage, settings["ELIBRARY_INSTANCE_PATH"], folder,
                                include_keys=bool(settings.get("ELIBRARY_BACKUP_INCLUDE_KEYS", True)), version=__version__, now=now,
                                objects=ObjectStore(folder / DIR_NAME))
        removed = apply_retention(folder, Retention.from_settings(settings))
    except Exception as exc:
        log.exception("scheduled backup failed")
        _finish(runtime.db, run_id, runtime.cipher, ok=False, finished_at=now, file_name=backup_name(now), message=_one_line(exc))
        return f"backup: FAILED: {_one_line(exc)}"
    line = (f"backup: {summary.path.name} ({summary.size} bytes; {summary.new_files} of {summary.files} book files new, "
            f"{summary.new_bytes} bytes), {removed} old backups removed")
    _finish(runtime.db, run_id, runtime.cipher, ok=True, finished_at=now, file_name=summary.path.name, size=summary.size, files=summary.files,
            new_files=summary.new_files, new_bytes=summary.new_bytes, removed=removed, message=line[:500])
    if drill_due(runtime.db, settings, now):
        line += "; " + run_drill(runtime, summary.path, now)
    return line


def drill_due(db, settings: Mapping[str, Any], now: datetime) -> bool:
    """Whether ``ELIBRARY_BACKUP_DRILL_DAYS`` (0: never) have passed since the last drill that worked."""
    days = int(settings.get("ELIBRARY_BACKUP_DRILL_DAYS") or 0)
    if days <= 0:
        return False
    with db.scope(write=False) as session:
        last = session.scalars(select(BackupRun.started_at).where(BackupRun.kind == "drill", BackupRun.ok.is_(True))
                               .order_by(BackupRun.started_at.desc()).limit(1)).first()
    return last is None or now - last >= timedelta(days=days) - timedelta(hours=1)


def run_drill(runtime: Any, path: Path, now: datetime) -> str:
    """Restore ``path`` into a scratch database and check it; recorded as a ``drill`` run (staff told of a failure)."""
    run_id = _record(runtime.db, kind="drill", started_at=now, file_name=path.name)
    try:
        report = verify_backup_file(path, runtime.settings, scratch_parent=str(path.parent))
    except Exception as exc:
        _finish(runtime.db, run_id, runtime.cipher, ok=False, finished_at=now, message=_one_line(exc))
        return f"restore drill: FAILED: {_one_line(exc)}"
    _finish(runtime.db, run_id, runtime.cipher, ok=True, finished_at=now, files=report.files, message=report.line()[:500])
    return "restore drill: " + report.line()


def record_drill(runtime: Any, path: Path, now: datetime, ok: bool, message: str) -> None:
    """Note a drill run by hand (``elibrary backup verify``) beside the scheduled ones (staff told of a failure)."""
    run_id = _record(runtime.db, kind="drill", started_at=now, file_name=path.name[:200])
    _finish(runtime.db, run_id, runtime.cipher, ok=ok, finished_at=utcnow(), message=message[:500])


def recent_runs(session: Session, limit: int = 60) -> list[BackupRun]:
    """The newest backups and drills, for the admin page."""
    return list(session.scalars(select(BackupRun).order_by(BackupRun.started_at.desc(), BackupRun.id.desc()).limit(limit)))


def backup_age_seconds(session: Session, _runtime: Any = None) -> float | None:
    """Seconds since the last successful backup started (the ``/metrics`` gauge), None before the first."""
    last = session.scalar(select(func.max(BackupRun.started_at)).where(BackupRun.kind == "backup", BackupRun.ok.is_(True)))
    return None if last is None else max(0.0, (utcnow() - last).total_seconds())


def status(session: Session, settings: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The last backup and drill for the health detail: ``ok`` is False when the last backup failed or is too old."""
    def last(kind: str) -> BackupRun | None:
        return session.scalars(select(BackupRun).where(BackupRun.kind == kind, BackupRun.ok.is_not(None))
                               .order_by(BackupRun.started_at.desc(), BackupRun.id.desc()).limit(1)).first()

    backup, drill = last("backup"), last("drill")
    scheduled = bool(settings.get("ELIBRARY_BACKUP_SCHEDULE"))
    max_age = timedelta(hours=int(settings.get("ELIBRARY_BACKUP_MAX_AGE_HOURS") or 26))
    result: dict[str, Any] = {"scheduled": settings.get("ELIBRARY_BACKUP_SCHEDULE") or None}
    if backup is not None:
        result["last"] = {"at": backup.started_at.isoformat(), "age_hours": round((now - backup.started_at).total_seconds() / 3600, 1),
                          "ok": backup.ok, "file": backup.file_name, "size": backup.size, "message": backup.message}
    if drill is not None:
        result["drill"] = {"at": drill.started_at.isoformat(), "ok": drill.ok, "message": drill.message}
    if not scheduled:
        result["ok"] = backup is None or bool(backup.ok)
        result["note"] = "no backup schedule (ELIBRARY_BACKUP_SCHEDULE)"
        if not result["ok"]:
            result["error"] = "the last backup failed"
    elif backup is None:
        result["ok"], result["error"] = False, "no scheduled backup has run yet"
    elif not backup.ok:
        result["ok"], result["error"] = False, "the last backup failed"
    elif now - backup.started_at > max_age:
        result["ok"], result["error"] = False, f"the last backup is older than {int(max_age.total_seconds() // 3600)} hours"
    else:
        result["ok"] = True
    if drill is not None and not drill.ok:
        result["ok"], result["error"] = False, "the last restore drill failed"
    return result
