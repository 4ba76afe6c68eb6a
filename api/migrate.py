"""Apply the Alembic migrations to a database, from code (setup, seeding, tests)."""

from pathlib import Path

from alembic import command
from alembic.config import Config

ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"


def upgrade_to_head(database_url: str) -> None:
    """Bring `database_url` to the latest schema."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.upgrade(config, "head")
