"""Alembic, driven from code: ``elibrary init`` upgrades every branch head (one branch per domain)."""
from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at ``elibrary/migrations`` and bound to ``engine``."""
    config = Config()
    config.set_main_option("script_location", "elibrary:migrations")
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


def upgrade_database(engine: Engine) -> None:
    """Create or upgrade the schema to the newest revision of every domain; existing data is kept."""
    command.upgrade(alembic_config(engine), "heads")
