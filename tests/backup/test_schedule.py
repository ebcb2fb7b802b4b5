"""Scheduled backups: the job at its time (a fake clock), book files stored once, retention, drills, failures."""
from __future__ import annotations

import io
import json
import tarfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from elibrary import jobs
from elibrary.backup.archive import create_backup
from elibrary.backup.models import BackupRun
from elibrary.backup.objects import ObjectStore
from elibrary.backup.schedule import Retention, apply_retention
from elibrary.staff.services import add_staff

TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def app_config(app_config, tmp_path):
    return {**app_config, "ELIBRARY_BACKUP_SCHEDULE": "03:00", "ELIBRARY_BACKUP_DRILL_DAYS": 30, "ELIBRARY_BACKUP_DIR": str(tmp_path / "backups")}


@pytest.fixture
def demo(app, rt, runner):
    assert runner.invoke(args=["init", "--demo"]).exit_code == 0
    return app


def _at(day: int, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"2026-12-{day:02d}T{hhmm}:00").replace(tzinfo=TOKYO)


def _tick(rt, now: datetime) -> list[jobs.Outcome]:
    return jobs.run_due(rt, [rt.jobs.get("backup")], now)


def _runs(rt, kind: str = "backup") -> list[BackupRun]:
    with rt.db.scope(write=False) as session:
        return list(session.scalars(select(BackupRun).where(BackupRun.kind == kind).order_by(BackupRun.id)))


def _archives(folder: Path) -> list[Path]:
    return sorted(folder.glob("elibrary-backup-*.tar"))


def test_the_backup_job_runs_at_its_time_stores_book_files_once_and_is_verified(demo, rt, runner, tmp_path, monkeypatch):
    folder = tmp_path / "backups"
    assert not rt.jobs.get("backup").in_web_worker
    [first] = _tick(rt, _at(6, "03:01"))
    assert first.ran and "backup: elibrary-backup-20261205T180100Z.tar" in first.message and "restore drill: verified" in first.message
    assert _tick(rt, _at(6, "12:00")) == [] and _tick(rt, _at(7, "02:59")) == []  # once a day, at 03:00 Japan time

    def not_read_again(key):
        raise AssertionError(f"{key} was read again")

    monkeypatch.setattr(rt.storage, "open", not_read_again)  # the files backed up yesterday are only referenced
    [second] = _tick(rt, _at(7, "03:00"))
    assert second.ran and "restore drill" not in second.message  # the next drill is due in 30 days
    backups, drills = _runs(rt), _runs(rt, "drill")
    assert [run.ok for run in backups] == [True, True] and [run.ok for run in drills] == [True]
    assert "a sample patron decrypts" in drills[0].message
    assert backups[0].files > 0 and backups[0].new_files == backups[0].files
    assert backups[1].files == backups[0].files and backups[1].new_files == 0 and backups[1].new_bytes == 0  # referenced, not copied
    assert backups[1].size < backups[0].new_bytes  # the archive holds the database and keys, not the books
    assert len(list((folder / "objects").glob("??/*"))) == backups[0].files
    monkeypatch.undo()
    archive = _archives(folder)[-1]
    result = runner.invoke(args=["backup", "verify", str(archive)])
    assert result.exit_code == 0, result.output
    assert "a sample patron decrypts (keys from backup)" in result.output
    assert not list(folder.glob("elibrary-drill-*")) and not list(Path("/tmp").glob("elibrary-drill-*scratch.db"))


def _copy_with(archive: Path, out: Path, change) -> Path:
    with tarfile.open(archive) as src, tarfile.open(out, "w") as dst:
        for member in src.getmembers():
            name, data = change(member.name, src.extractfile(member).read())
            info = tarfile.TarInfo(name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
    return out


def test_verify_fails_in_one_line_on_a_corrupted_copy(demo, rt, runner, tmp_path):
    _tick(rt, _at(6, "03:01"))
    folder = tmp_path / "backups"
    archive = _archives(folder)[0]
    flipped = _copy_with(archive, folder / "elibrary-backup-20261205T180200Z.tar",
                         lambda n, d: (n, d[:100] + bytes([d[100] ^ 1]) + d[101:]) if n == "database.jsonl.gz" else (n, d))
    result = runner.invoke(args=["backup", "verify", str(flipped)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("Error: cannot restore the backup: database.jsonl.gz is damaged")
    victim = next((folder / "objects").glob("??/*"))
    victim.write_bytes(victim.read_bytes() + b"x")
    result = runner.invoke(args=["backup", "verify", str(archive)])
    assert result.exit_code == 1 and "missing or damaged in the objects folder" in result.output
    assert [run.ok for run in _runs(rt, "drill")] == [True, False, False]  # the failures are on the admin page too


def test_verify_catches_rows_that_do_not_match_the_manifest(demo, rt, runner, tmp_path):
    _tick(rt, _at(6, "03:01"))
    archive = _archives(tmp_path / "backups")[0]

    def lie(name, data):
        if name != "manifest.json":
            return name, data
        manifest = json.loads(data)
        manifest["tables"]["titles"] += 1
        return name, json.dumps(manifest).encode()

    result = runner.invoke(args=["backup", "verify", str(_copy_with(archive, tmp_path / "backups" / "lie.tar", lie))])
    assert result.exit_code == 1 and "table titles has" in result.output


def test_a_backup_without_keys_is_verified_with_this_instances_keys(demo, rt, runner, tmp_path):
    result = runner.invoke(args=["backup", "create", "--without-keys", str(tmp_path / "manual")])
    assert result.exit_code == 0
    verified = runner.invoke(args=["backup", "verify", str(_archives(tmp_path / "manual")[0])])
    assert verified.exit_code == 0 and "keys from instance" in verified.output


def test_a_failed_backup_is_recorded_and_the_admins_are_told(app, rt, tmp_path):
    with rt.db.scope() as session:
        add_staff(session, "admin@city.example.jp", "admin", None)
        add_staff(session, "librarian@city.example.jp", "librarian", None)
    (tmp_path / "backups").write_text("a file where the folder should be")
    [outcome] = _tick(rt, _at(6, "03:00"))
    assert outcome.ran and outcome.message.startswith("backup: FAILED: ")
    [run] = _runs(rt)
    assert run.ok is False and run.message
    [notice] = rt.notifier.sent  # through the outbox, after the record was committed
    assert notice.address == "admin@city.example.jp" and notice.channel == "email"
    assert "バックアップが失敗しました" in notice.body and "File exists" in notice.body


def test_retention_keeps_the_newest_of_each_day_week_and_month():
    taken = [datetime(2026, 12, 6, 3, tzinfo=TOKYO) - timedelta(days=n) for n in range(70)]
    kept = Retention(daily=3, weekly=2, monthly=2).keep(taken)
    expected = {taken[0], taken[1], taken[2],  # Sunday 6, 5 and 4 December: the last three days
                taken[7],  # Sunday 29 November: the newest of the ISO week before (this week's is the 6th)
                taken[6]}  # Monday 30 November: the newest of the month before
    assert kept == expected


def test_retention_deletes_old_scheduled_archives_and_their_unused_objects(demo, rt, tmp_path):
    folder = tmp_path / "backups"
    for day in range(1, 6):
        _tick(rt, _at(day, "03:00"))
    assert len(_archives(folder)) == 5
    manual = create_backup(rt.db.engine, rt.storage, demo.instance_path, folder).path  # by hand: never removed
    with tarfile.open(manual) as tar:
        assert json.loads(tar.extractfile("manifest.json").read())["objects"] is None
    orphan = ObjectStore(folder / "objects")
    sha, _, _ = orphan.add(io.BytesIO(b"a file no backup names"))
    with tarfile.open(folder / "elibrary-backup-20261204T180000Z.tar") as tar:
        members = json.loads(tar.extractfile("manifest.json").read())["members"]
    kept_object = orphan.path(next(entry["sha256"] for entry in members.values() if entry.get("ref")))
    removed = apply_retention(folder, Retention(daily=2, weekly=0, monthly=0))
    assert removed == 3
    names = {p.name for p in _archives(folder)}
    assert names == {manual.name, "elibrary-backup-20261203T180000Z.tar", "elibrary-backup-20261204T180000Z.tar"}
    assert not orphan.path(sha).exists() and kept_object.exists()


def test_a_file_added_since_the_last_backup_is_the_only_one_stored(demo, rt, tmp_path):
    _tick(rt, _at(6, "03:00"))
    rt.storage.put("books/9999/" + "a" * 64 + ".epub", io.BytesIO(b"a new book arrived today"))
    _tick(rt, _at(7, "03:00"))
    first, second = _runs(rt)
    assert second.files == first.files + 1 and second.new_files == 1 and second.new_bytes == len(b"a new book arrived today")
