"""Database engine and sessions: SQLite by default, PostgreSQL through DATABASE_URL."""

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from api.config import get_settings


def make_engine(url: str, *, durable_commits: bool = True) -> Engine:
    """Build an engine; SQLite gets foreign keys and a busy timeout for concurrent workers.

    `durable_commits=False` lets PostgreSQL acknowledge a commit before its WAL reaches the
    disk: for the attempt counters, where losing the last milliseconds in a crash is harmless
    and waiting for a disk flush on every lookup is not.
    """
    if url.startswith("sqlite"):
        keep_private(make_url(url).database)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            # With WAL, NORMAL keeps the database consistent and skips a flush per commit.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    if durable_commits:
        connect_args, pool_size = {}, 10
    else:
        connect_args, pool_size = {"options": "-c synchronous_commit=off"}, 5
    # Per worker: 10 + 10 connections for requests, 5 + 5 for the counters, so that a few
    # workers stay under PostgreSQL's default max_connections (100). No ping before each use:
    # it was a round trip per query on the lookup path; after a server restart the first
    # query that meets a dead connection fails and SQLAlchemy then renews the whole pool.
    return create_engine(
        url,
        pool_recycle=1800,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args=connect_args,
    )


def keep_private(database: str | None) -> None:
    """A SQLite file, and the folder it lives in, readable by the service user only.

    SQLite gives its -wal and -shm files the permissions of the database file.
    """
    if not database or database == ":memory:":
        return
    path = Path(database)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)


@lru_cache
def get_engine() -> Engine:
    """Return the engine for the configured database (one per process)."""
    return make_engine(get_settings().database_url)


@lru_cache
def get_counter_engine() -> Engine:
    """Return the engine of the attempt counters, with its own pool.

    A lookup holds a session connection while it records its attempt: were both drawn from one
    pool, a burst of lookups could take every connection and then wait for one forever.
    """
    return make_engine(get_settings().database_url, durable_commits=False)


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    """Return the session factory bound to the configured engine."""
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def get_session() -> Iterator[Session]:
    """Yield one session per request, closed afterwards."""
    with get_sessionmaker()() as session:
        yield session
