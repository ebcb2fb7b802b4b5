"""The keyed chain, the anchor outside the database and the one-time adoption of a pre-key log."""
from __future__ import annotations

import csv
import io
import json
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import select, text

from elibrary.audit import services
from elibrary.audit.chain import GENESIS, Anchor, legacy_digest
from elibrary.audit.models import AccessLogEntry
from tests.audit.test_access_log import access


def _without_triggers(rt, statement):
    """What an attacker with database access could do: remove the guard (again, if need be), then edit."""
    with rt.db.engine.begin() as conn:
        if rt.db.is_sqlite:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_access_log_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_access_log_no_delete"))
        else:
            conn.execute(text("ALTER TABLE audit_access_log DISABLE TRIGGER audit_access_log_append_only"))
        conn.execute(text(statement))


@pytest.fixture
def five(rt):
    for n in range(5):
        services.record_now(rt.db, access(patron_id=n + 1, subject=f"patron:{n + 1}", fields=("name",)))


def _rewrite_unkeyed(rt, sql: str) -> None:
    """The attack the unkeyed chain allowed: edit rows, then recompute every link with plain SHA-256."""
    _without_triggers(rt, sql)
    with rt.db.engine.begin() as conn:
        rows = conn.execute(select(AccessLogEntry.__table__).order_by(AccessLogEntry.id)).all()
        prev = GENESIS
        conn.execute(text("UPDATE audit_access_log SET prev_hash = 'x' || id, entry_hash = 'y' || id"))
        for row in rows:
            digest = legacy_digest(prev, row)
            conn.execute(text("UPDATE audit_access_log SET prev_hash = :p, entry_hash = :h WHERE id = :id"), {"p": prev, "h": digest, "id": row.id})
            prev = digest


def test_the_key_and_the_anchor_live_in_the_instance_folder(app, rt, five):
    key, anchor = Path(app.instance_path) / "audit_key", Path(app.instance_path) / "audit_anchor"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_text().strip()) >= 32
    assert stat.S_IMODE(anchor.stat().st_mode) == 0o600
    with rt.db.scope(write=False) as session:
        last = session.scalar(select(AccessLogEntry).order_by(AccessLogEntry.id.desc()).limit(1))
    assert json.loads(anchor.read_text()) == {"id": last.id, "hash": last.entry_hash}


def test_a_chain_recomputed_without_the_key_fails_verification(runner, rt, five):
    _rewrite_unkeyed(rt, "UPDATE audit_access_log SET staff_email = 'someone@else.example.jp' WHERE id = 3")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "tampered at entry 1" in result.output and "keyed hash" in result.output


@pytest.mark.parametrize("removed", [1, 2])
def test_removing_the_newest_entries_is_detected(runner, rt, five, removed):
    _without_triggers(rt, f"DELETE FROM audit_access_log WHERE id > {5 - removed}")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "tampered at entry 5" in result.output and "newest entries were removed" in result.output


def test_removing_everything_is_detected(runner, rt, five):
    _without_triggers(rt, "DELETE FROM audit_access_log")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "newest entries were removed" in result.output


def test_the_anchor_only_moves_forward_and_a_missing_one_is_reported(runner, rt, five):
    assert rt.audit.write_anchor(Anchor(2, "a" * 64)) is False  # an older entry never replaces a newer anchor
    assert rt.audit.read_anchor().entry_id == 5
    os.unlink(rt.audit.anchor_path)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "anchor file is missing" in result.output
    assert "5 entries anchored" in runner.invoke(args=["init"]).output  # an intact keyed chain is anchored again
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_a_pre_key_log_is_rechained_once_by_init_and_verifies(runner, rt, five):
    _rewrite_unkeyed(rt, "UPDATE audit_access_log SET detail = detail WHERE id = 1")  # as an old install wrote it
    os.unlink(rt.audit.anchor_path)
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1
    init = runner.invoke(args=["init"])
    assert init.exit_code == 0 and "5 entries re-chained under the audit key" in init.output
    assert "intact: 5 entries" in runner.invoke(args=["audit", "verify"]).output
    with pytest.raises(Exception, match="append-only"):  # the triggers are back
        with rt.db.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_access_log WHERE id = 5"))
    # Later, someone rewrites the table unkeyed again: the anchor exists, so init never launders it.
    _rewrite_unkeyed(rt, "UPDATE audit_access_log SET staff_email = 'x@example.jp' WHERE id = 2")
    assert "re-chained" not in runner.invoke(args=["init"]).output
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1


def test_a_tampered_pre_key_log_is_not_rechained(runner, rt, five):
    _rewrite_unkeyed(rt, "UPDATE audit_access_log SET detail = detail WHERE id = 1")
    _without_triggers(rt, "UPDATE audit_access_log SET action = 'search' WHERE id = 4")  # edited without recomputing
    os.unlink(rt.audit.anchor_path)
    init = runner.invoke(args=["init"])
    assert init.exit_code == 0 and "NOT re-chained" in init.output and "entry 4" in init.output
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1


def test_the_csv_export_neutralises_formula_cells(rt):
    services.record_now(rt.db, access(detail="=HYPERLINK(\"http://evil.example/\",\"x\")", subject="+cmd|' /C calc'!A0"))
    services.record_now(rt.db, access(detail="@SUM(1)", subject="-2+3", email="\tx@example.jp"))
    services.record_now(rt.db, access(detail="＝1+1", subject="patron:1"))
    with rt.db.scope(write=False) as session:
        rows = list(csv.reader(io.StringIO(services.to_csv(services.search(session)))))
    cells = [cell for row in rows[1:] for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r", "＝")]
    assert "'=HYPERLINK(\"http://evil.example/\",\"x\")" in cells and "'-2+3" in cells and "'\tx@example.jp" in cells
    assert "'＝1+1" in cells and "patron:1" in cells


def test_many_entries_at_once_chain_in_order_between_single_ones(rt):
    from elibrary.audit.recording import record, record_many

    with rt.db.scope() as session:
        record(session, access(detail="before"))
        assert record_many(session, [access(detail=f"batch {n}") for n in range(5)]) == 5
        record(session, access(detail="after"))
        assert record_many(session, []) == 0
    with rt.db.scope() as session:
        details = list(session.scalars(select(AccessLogEntry.detail).order_by(AccessLogEntry.id)))
        assert details == ["before"] + [f"batch {n}" for n in range(5)] + ["after"]
        assert services.verify(session, chain=rt.audit).ok
