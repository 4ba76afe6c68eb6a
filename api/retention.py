"""What expires, and erasing one conversation on request (docs/privacy.md).

`purge` deletes what is older than the retention period (GUICHET_RETENTION_DAYS):

- Rasa conversations whose last event is older, from Rasa's SQL tracker store
  (GUICHET_TRACKER_DB_URL: Rasa 3.6's table `events`, with `sender_id` and `timestamp` in
  epoch seconds). A store that does not exist yet holds nothing: it is not created;
- checks before sending (`checklists`) saved before the period;
- `lookup_locks` whose strict mode ended before the period;
- and the attempt counters that are over, through the app's limiter's `purge_expired`.

`forget_conversation` deletes one conversation at once: the chat door calls it when a person
asks to erase theirs, the back office through DELETE /v1/admin/conversations/{id}.
`retention_loop` runs `purge` in a worker thread every GUICHET_RETENTION_INTERVAL_SECONDS,
inside the API process.

Every step is one SQL statement, committed on its own: Rasa and the API keep writing
meanwhile. On SQLite, deleted rows are overwritten (`secure_delete`), as the tracker store
does for the numbers it masks.
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    inspect,
    make_url,
    select,
)
from sqlalchemy.pool import NullPool

from api.config import Settings
from api.logging import get_logger
from api.models import Checklist, LookupLock
from api.ratelimit import AttemptLimiter

# Rasa 3.6's SQLTrackerStore.SQLEvent (rasa/core/tracker_store.py), the columns we read.
_tracker_metadata = MetaData()
tracker_events = Table(
    "events",
    _tracker_metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)
# Conversations deleted per statement: bounded transactions on a large store.
CONVERSATIONS_PER_BATCH = 200
# The first purge waits this long after the process starts (at most one interval): a starting
# API has other things to do, and a process that restarts often still purges.
FIRST_PURGE_DELAY_SECONDS = 60.0

log = get_logger()


class PurgeFailed(Exception):
    """Some steps of `purge` failed; the others ran. Says which, without personal data."""

    def __init__(self, counts: dict[str, int], failures: dict[str, str]) -> None:
        super().__init__(", ".join(f"{step}: {error}" for step, error in failures.items()))
        self.counts = counts
        self.failures = failures


def _database_missing(url: str) -> bool:
    """Whether `url` names a SQLite file that does not exist (connecting would create it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return False
    database = parsed.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return False
    return not Path(database).exists()


def _driver_url(url: str) -> str:
    """Rasa's `postgresql://` means psycopg2; this environment has psycopg (3)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


@contextmanager
def _engine(url: str) -> Iterator[Engine | None]:
    """A short-lived engine without a pool (this runs once an hour), or None when the SQLite
    file does not exist."""
    if _database_missing(url):
        yield None
        return
    url = _driver_url(url)
    sqlite = make_url(url).get_backend_name() == "sqlite"
    engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": 30} if sqlite else {})
    if sqlite:

        @event.listens_for(engine, "connect")
        def _secure_delete(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA secure_delete = ON")
            cursor.close()

    try:
        yield engine
    finally:
        engine.dispose()


def _has_events(connection: Connection) -> bool:
    return inspect(connection).has_table(tracker_events.name)


def purge_conversations(tracker_db_url: str, cutoff: datetime) -> int:
    """Delete the conversations whose last event is before `cutoff`; return how many."""
    before = cutoff.timestamp()
    deleted = 0
    with _engine(tracker_db_url) as engine:
        if engine is None:
            return 0
        with engine.connect() as connection:
            if not _has_events(connection):
                return 0
        old = (
            select(tracker_events.c.sender_id)
            .group_by(tracker_events.c.sender_id)
            .having(func.max(tracker_events.c.timestamp) < before)
            .limit(CONVERSATIONS_PER_BATCH)
            .scalar_subquery()
        )
        statement = (
            delete(tracker_events)
            .where(tracker_events.c.sender_id.in_(old))
            .returning(tracker_events.c.sender_id)
        )
        while True:
            # One statement per batch, atomic. A conversation that gets a new event during
            # that statement may keep that event alone, like a conversation just begun.
            with engine.begin() as connection:
                senders = set(connection.scalars(statement))
            if not senders:
                return deleted
            deleted += len(senders)


def forget_conversation(settings: Settings, sender_id: str) -> int:
    """Delete every event of one conversation from the tracker store; return how many."""
    return forget_conversation_at(settings.tracker_db_url, sender_id)


def forget_conversation_at(tracker_db_url: str, sender_id: str) -> int:
    """The same, for a process without the API's settings (the voice gateway)."""
    with _engine(tracker_db_url) as engine:
        if engine is None:
            return 0
        with engine.begin() as connection:
            if not _has_events(connection):
                return 0
            result = connection.execute(
                delete(tracker_events).where(tracker_events.c.sender_id == sender_id)
            )
            return result.rowcount


def purge_api_records(database_url: str, cutoff: datetime) -> dict[str, int]:
    """Delete the checklists saved and the lookup locks ended before `cutoff`."""
    counts = {"checklists": 0, "lookup_locks": 0}
    with _engine(database_url) as engine:
        if engine is None:
            return counts
        with engine.begin() as connection:
            counts["checklists"] = connection.execute(
                delete(Checklist).where(Checklist.cree_le < cutoff)
            ).rowcount
        with engine.begin() as connection:
            counts["lookup_locks"] = connection.execute(
                delete(LookupLock).where(LookupLock.locked_until < cutoff)
            ).rowcount
    return counts


def purge_attempt_counters(limiter: AttemptLimiter | None) -> int:
    """Delete the attempt counters that are over (in the database, or in Redis)."""
    if limiter is None or not hasattr(limiter, "purge_expired"):
        return 0
    return int(limiter.purge_expired())


def _describe(error: Exception) -> str:
    """The error's type and first line, without the SQL parameters SQLAlchemy appends."""
    cause = getattr(error, "orig", None) or error
    first_line = (str(cause).strip().splitlines() or [""])[0][:200]
    return f"{type(cause).__name__}: {first_line}" if first_line else type(cause).__name__


def purge(
    settings: Settings, now: datetime | None = None, limiter: AttemptLimiter | None = None
) -> dict[str, int]:
    """Delete what is older than the retention period; return how many of each.

    The attempt counters are purged through `limiter` (the app's), when one is given. Every
    step runs, even after another failed; then `PurgeFailed` says which failed.
    """
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    cutoff = now - timedelta(days=settings.retention_days)
    counts = {"conversations": 0, "checklists": 0, "lookup_locks": 0, "attempt_counters": 0}
    failures: dict[str, str] = {}
    try:
        counts["conversations"] = purge_conversations(settings.tracker_db_url, cutoff)
    except Exception as error:
        failures["conversations"] = _describe(error)
    try:
        counts.update(purge_api_records(settings.database_url, cutoff))
    except Exception as error:
        failures["checklists, lookup_locks"] = _describe(error)
    try:
        counts["attempt_counters"] = purge_attempt_counters(limiter)
    except Exception as error:
        failures["attempt_counters"] = _describe(error)
    if failures:
        raise PurgeFailed(counts, failures)
    return counts


def _log_counts(counts: dict[str, int]) -> None:
    summary = ", ".join(f"{name} {count}" for name, count in counts.items())
    if any(counts.values()):
        log.info("retention: deleted %s", summary)
    else:
        log.debug("retention: nothing to delete")


async def retention_loop(settings: Settings, limiter: AttemptLimiter | None = None) -> None:
    """Purge every `retention_interval_seconds`, the first time shortly after the start.

    Runs until cancelled; an error is logged (its type and first line) and the next purge
    comes at the usual time.
    """
    interval = settings.retention_interval_seconds
    await asyncio.sleep(min(FIRST_PURGE_DELAY_SECONDS, interval))
    while True:
        try:
            _log_counts(await asyncio.to_thread(purge, settings, None, limiter))
        except PurgeFailed as failed:
            _log_counts(failed.counts)
            log.error("retention: purge failed: %s", failed)
        except Exception as error:
            log.error("retention: purge failed: %s", _describe(error))
        await asyncio.sleep(interval)
