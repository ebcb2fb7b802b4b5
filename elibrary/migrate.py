"""Alembic, driven from code: ``elibrary init`` upgrades every branch head (one branch per domain)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

if TYPE_CHECKING:  # Alembic (~11 MB) is imported when a migration runs, not by every worker at start
    from alembic.config import Config


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at ``elibrary/migrations`` and bound to ``engine``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "elibrary:migrations")
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


def upgrade_database(engine: Engine) -> None:
    """Create or upgrade the schema to the newest revision of every domain; existing data is kept."""
    from alembic import command

    command.upgrade(alembic_config(engine), "heads")


# -- rolling upgrades: "expand" first, "contract" after every server runs the new version -----------------
# A migration that removes or renames something the running (old) version still reads is a *contract*
# step and must say so with ``contract = True`` at module level; everything else (new tables, new
# nullable columns, new indexes) is an *expand* step that old and new code both work with.
# ``elibrary init --expand-only`` applies the pending expand steps and holds back every contract step
# and whatever follows it on its branch (docs/operations.md, "Upgrades without a stop").
CONTRACT_OPERATIONS = ("drop_table", "drop_column", "rename_table", "new_column_name", "drop_constraint", "drop_index", "alter_column")


def is_contract(revision) -> bool:
    """Whether an Alembic revision declares itself a contract step (``contract = True``)."""
    return bool(getattr(revision.module, "contract", False))


def undeclared_contractions(revision) -> list[str]:
    """The contracting operations in a revision's ``upgrade()`` that it does not declare (a test keeps this empty)."""
    import inspect

    if is_contract(revision):
        return []
    source = inspect.getsource(revision.module.upgrade)
    return [name for name in CONTRACT_OPERATIONS if f".{name}(" in source or f"{name}=" in source]


def _down(revision) -> tuple[str, ...]:
    down = revision.down_revision
    return () if down is None else (down,) if isinstance(down, str) else tuple(down)


def expand_plan(engine: Engine) -> tuple[list[str], list[str]]:
    """The revisions to upgrade to for the pending expand steps, and the pending contract steps held back."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_heads()
    applied_ids = {r.revision for r in script.iterate_revisions(current, "base")} if current else set()
    pending = [r for r in script.walk_revisions() if r.revision not in applied_ids][::-1]  # oldest first
    held: set[str] = set()
    for revision in pending:
        if is_contract(revision) or any(down in held for down in _down(revision)):
            held.add(revision.revision)
    expand = [r for r in pending if r.revision not in held]
    targets = [r.revision for r in expand if not any(r.revision in _down(other) for other in expand)]
    return targets, [r.revision for r in pending if r.revision in held]


def upgrade_expand_only(engine: Engine) -> list[str]:
    """Apply the pending expand steps only; returns the contract steps left for after the roll-out."""
    from alembic import command

    targets, held = expand_plan(engine)
    config = alembic_config(engine)
    for target in targets:
        command.upgrade(config, target)
    return held
