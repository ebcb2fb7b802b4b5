"""Rolling upgrades: contracting migrations declare themselves, and ``init --expand-only`` holds them back."""
from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from elibrary import migrate
from elibrary.db import make_engine


@pytest.fixture
def script():
    return ScriptDirectory.from_config(migrate.alembic_config(make_engine("sqlite://")))


def test_every_migration_that_removes_or_renames_declares_itself_a_contract_step(script):
    undeclared = {r.revision: migrate.undeclared_contractions(r) for r in script.walk_revisions()}
    assert {name: ops for name, ops in undeclared.items() if ops} == {}


def test_the_checker_sees_a_drop_in_upgrade(script, monkeypatch):
    revision = script.get_revision("0110_ops")
    source = "def upgrade():\n    op.drop_column('titles', 'subtitle')\n"
    monkeypatch.setattr("inspect.getsource", lambda _fn: source)
    assert migrate.undeclared_contractions(revision) == ["drop_column"]


def test_expand_only_holds_back_a_contract_step_and_what_follows_it(tmp_path, script, monkeypatch):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    held_back = "0080_line"  # pretend this step drops something the old version reads
    monkeypatch.setattr(migrate, "is_contract", lambda revision: revision.revision == held_back)
    held = migrate.upgrade_expand_only(engine)
    assert held == ["0080_line", "0081_line_announcements"]  # the step and its descendant on the LINE branch
    tables = set(inspect(engine).get_table_names())
    assert "line_links" not in tables and "announcements" not in tables
    assert {"titles", "loans", "backup_runs"} <= tables  # every other branch went to its head
    monkeypatch.setattr(migrate, "is_contract", lambda revision: False)
    assert migrate.upgrade_expand_only(engine) == []  # after the roll-out: the rest
    with engine.connect() as conn:
        current = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    assert current == {r.revision for r in script.get_revisions("heads")}
    engine.dispose()
