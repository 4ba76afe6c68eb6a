"""Database engine and sessions: SQLite by default, PostgreSQL through DATABASE_URL."""

from pathlib import Path

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker


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


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """The session factory of the API's requests on `engine`."""
    return sessionmaker(bind=engine, expire_on_commit=False)
