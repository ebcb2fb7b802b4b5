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
