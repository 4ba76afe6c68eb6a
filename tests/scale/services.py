"""PostgreSQL and Redis for the scaling tests: reachable or skipped (failed under
REQUIRE_SERVICES=1, as CI runs), a fresh database dropped afterwards, a Redis database index
nobody uses. Works in both Python environments (SQLAlchemy 1.4 and psycopg2 in Rasa's,
SQLAlchemy 2 and psycopg in the other)."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get(
    "GUICHET_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_TEST_URL = os.environ.get("GUICHET_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# Databases 0-9 are left to people and other tests; these are tried in turn.
SCRATCH_REDIS_DBS = range(10, 16)


def require_service(reason: str | None) -> None:
    """Skip with `reason`, or fail when REQUIRE_SERVICES=1 says the service must be there."""
    if reason:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason} (REQUIRE_SERVICES=1)")
        pytest.skip(reason)


def driver_url(url: str, database: str | None = None) -> sa.engine.URL:
    """`url` with the PostgreSQL driver this environment has, and optionally another database."""
    parsed = sa.engine.make_url(url)
    try:
        import psycopg2  # noqa: F401

        driver = "postgresql+psycopg2"
    except ImportError:
        driver = "postgresql+psycopg"
    parsed = parsed.set(drivername=driver)
    return parsed.set(database=database) if database else parsed


def _admin_engine() -> sa.engine.Engine:
    return sa.create_engine(
        driver_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )


def postgres_unreachable() -> str | None:
    engine = _admin_engine()
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        return None
    except sa.exc.OperationalError as error:
        return f"PostgreSQL unreachable at {PG_ADMIN_URL}: {error.orig}".splitlines()[0]
    finally:
        engine.dispose()


def redis_unreachable() -> str | None:
    try:
        client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=3)
        client.ping()
        client.close()
        return None
    except redis.RedisError as error:
        return f"Redis unreachable at {REDIS_TEST_URL}: {error}".splitlines()[0]


@contextmanager
def temporary_database(prefix: str = "guichet_scale_test") -> Iterator[str]:
    """A new empty PostgreSQL database; yields its plain `postgresql://` URL (Rasa's form)."""
    require_service(postgres_unreachable())
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = _admin_engine()
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield (
            sa.engine.make_url(PG_ADMIN_URL)
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@contextmanager
def scratch_redis() -> Iterator[str]:
    """The URL of an empty Redis database index, claimed with a marker key, emptied after."""
    require_service(redis_unreachable())
    marker = f"guichet-scale-test:{uuid.uuid4().hex}"
    for index in SCRATCH_REDIS_DBS:
        url = urlunsplit(urlsplit(REDIS_TEST_URL)._replace(path=f"/{index}"))
        client = redis.Redis.from_url(url)
        # Claim the index only if it is empty; a marker with a life keeps others off it.
        if client.dbsize() == 0 and client.set(marker, "1", nx=True, ex=600):
            if client.dbsize() == 1:
                try:
                    yield url
                finally:
                    client.flushdb()
                    client.close()
                return
            client.delete(marker)
        client.close()
    pytest.fail(f"no empty Redis database among {list(SCRATCH_REDIS_DBS)} at {REDIS_TEST_URL}")
