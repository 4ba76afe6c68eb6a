"""Alembic environment: migrate the configured database (or the URL the caller set)."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from api.config import Settings
from api.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or Settings().database_url


def run_migrations() -> None:
    """Apply migrations on a live connection."""
    engine = engine_from_config(
        {"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
