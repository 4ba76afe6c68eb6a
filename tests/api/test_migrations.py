"""Migrations build, from an empty database, exactly the schema the models describe."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from api.migrate import ALEMBIC_INI, upgrade_to_head
from api.models import Base

TABLES = {
    "dossiers",
    "status_changes",
    "missing_pieces",
    "checklists",
    "attempt_counters",
    "lookup_locks",
    "processed_events",
}


def _alembic(url: str) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def test_upgrade_from_empty_matches_the_models(database_url: str) -> None:
    upgrade_to_head(database_url)
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) == TABLES | {"alembic_version"}
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_downgrade_to_empty_and_back(database_url: str) -> None:
    upgrade_to_head(database_url)
    command.downgrade(_alembic(database_url), "base")
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
        upgrade_to_head(database_url)
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) == TABLES | {"alembic_version"}
    finally:
        engine.dispose()
