"""Retention: old conversations, checklists, locks and counters go; a conversation is erased
on request. On SQLite and PostgreSQL, the tracker store in a database of the same kind."""

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, make_url, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from api import retention
from api.config import Settings
from api.context import AppContext
from api.models import Checklist, LookupLock
from api.retention import PurgeFailed, forget_conversation, purge, retention_loop
from tests.api.conftest import bearer, empty_database

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = 86_400.0
# Rasa 3.6's SQLTrackerStore creates its table so (SQLAlchemy's DDL for SQLEvent).
RASA_EVENTS_DDL = """
CREATE TABLE events (
    id {id_type} NOT NULL,
    sender_id VARCHAR(255) NOT NULL,
    type_name VARCHAR(255) NOT NULL,
    timestamp FLOAT,
    intent_name VARCHAR(255),
    action_name VARCHAR(255),
    data TEXT,
    PRIMARY KEY (id)
)
"""
RASA_EVENTS_INDEX = "CREATE INDEX ix_events_sender_id ON events (sender_id)"


def tracker_engine(url: str) -> Engine:
    return create_engine(url, poolclass=NullPool)


def create_events_table(url: str) -> None:
    engine = tracker_engine(url)
    id_type = "SERIAL" if engine.dialect.name == "postgresql" else "INTEGER"
    with engine.begin() as connection:
        connection.execute(text(RASA_EVENTS_DDL.format(id_type=id_type)))
        connection.execute(text(RASA_EVENTS_INDEX))
    engine.dispose()


def add_events(url: str, sender_id: str, *days_ago: float) -> None:
    """One event per age, as Rasa stores them (timestamps in epoch seconds)."""
    rows = [
        {
            "sender_id": sender_id,
            "type_name": "user",
            "timestamp": NOW.timestamp() - age * DAY,
            "data": '{"event": "user", "text": "[numéro]"}',
        }
        for age in days_ago
    ]
    engine = tracker_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO events (sender_id, type_name, timestamp, data)"
                " VALUES (:sender_id, :type_name, :timestamp, :data)"
            ),
            rows,
        )
    engine.dispose()


def events_by_sender(url: str) -> dict[str, int]:
    engine = tracker_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT sender_id, count(*) FROM events GROUP BY sender_id")
        ).all()
    engine.dispose()
    return {sender: count for sender, count in rows}


@pytest.fixture
def tracker_db_url(
    settings_env: None, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Rasa's tracker store, empty, in a database of the same kind as the API's."""
    kind = make_url(database_url).get_backend_name()
    tracker_dir = tmp_path / "tracker"
    tracker_dir.mkdir()
    with empty_database(kind, tracker_dir) as url:
        if kind == "sqlite":
            url = f"sqlite:///{tracker_dir / 'rasa_tracker.db'}"
        create_events_table(url)
        monkeypatch.setenv("GUICHET_TRACKER_DB_URL", url)
        monkeypatch.setenv("GUICHET_RETENTION_DAYS", "30")
        yield url


@pytest.fixture
def context(tracker_db_url: str, seeded: None) -> Iterator[AppContext]:
    """What an app of the test's settings holds (its database seeded, its tracker store set)."""
    context = AppContext.build(Settings())
    try:
        yield context
    finally:
        context.dispose()


@pytest.fixture
def settings(context: AppContext) -> Settings:
    return context.settings


def test_purge_deletes_conversations_whose_last_event_is_old(
    settings: Settings, tracker_db_url: str
) -> None:
    add_events(tracker_db_url, "old", 45, 40, 31)
    add_events(tracker_db_url, "old-too", 400)
    add_events(tracker_db_url, "started-long-ago", 60, 40, 2)
    add_events(tracker_db_url, "today", 0.1)

    counts = purge(settings, now=NOW)

    assert counts["conversations"] == 2
    # A conversation still going on is kept whole, its first messages too.
    assert events_by_sender(tracker_db_url) == {"started-long-ago": 3, "today": 1}
    assert purge(settings, now=NOW)["conversations"] == 0


def test_purge_works_through_batches(
    settings: Settings, tracker_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "CONVERSATIONS_PER_BATCH", 2)
    for number in range(5):
        add_events(tracker_db_url, f"old-{number}", 50, 35)
    add_events(tracker_db_url, "recent", 29)

    assert purge(settings, now=NOW)["conversations"] == 5
    assert events_by_sender(tracker_db_url) == {"recent": 1}


def test_purge_deletes_old_checklists_and_ended_locks(
    settings: Settings, context: AppContext
) -> None:
    with Session(context.engine) as session:
        for code, age in (("ANCIEN01", 31), ("RECENT01", 29)):
            session.add(
                Checklist(
                    code=code,
                    demarche="permis_perdu",
                    reponses=[],
                    resultat={},
                    cree_le=NOW - timedelta(days=age),
                )
            )
        for numero, locked_days_ago, ended_days_ago in (
            ("2611000001", 40, 35),  # ended long ago
            ("2611000002", 60, -1),  # locked long ago, still in strict mode
            ("2611000003", 40, 20),  # ended within the period
        ):
            session.add(
                LookupLock(
                    numero=numero,
                    failures=30,
                    locked_at=NOW - timedelta(days=locked_days_ago),
                    locked_until=NOW - timedelta(days=ended_days_ago),
                )
            )
        session.commit()

    counts = purge(settings, now=NOW)

    assert counts["checklists"] == 1 and counts["lookup_locks"] == 1
    with Session(context.engine) as session:
        assert session.scalars(select(Checklist.code)).all() == ["RECENT01"]
        kept = sorted(session.scalars(select(LookupLock.numero)))
        assert kept == ["2611000002", "2611000003"]


class CountersWithPurge:
    def purge_expired(self) -> int:
        return 3


class CountersWithoutPurge:
    pass


def test_purge_asks_the_limiter_to_drop_expired_counters(
    settings: Settings, context: AppContext
) -> None:
    # The configured limiter (counters in the database here, none of them expired) runs.
    assert purge(settings, now=NOW, limiter=context.limiter)["attempt_counters"] == 0
    with_purge = CountersWithPurge()
    assert purge(settings, now=NOW, limiter=with_purge)["attempt_counters"] == 3  # type: ignore[arg-type]
    # A limiter without purge_expired (before it was added) is no error.
    without = CountersWithoutPurge()
    assert purge(settings, now=NOW, limiter=without)["attempt_counters"] == 0  # type: ignore[arg-type]


def test_no_tracker_store_yet(settings: Settings, tmp_path: Path) -> None:
    missing = tmp_path / "absent" / "rasa_tracker.db"
    without_file = settings.model_copy(update={"tracker_db_url": f"sqlite:///{missing}"})
    assert purge(without_file, now=NOW)["conversations"] == 0
    assert forget_conversation(without_file, "anyone") == 0
    assert not missing.exists()  # not created: Rasa creates it, private

    empty = tmp_path / "empty.db"
    engine = tracker_engine(f"sqlite:///{empty}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE other (id INTEGER)"))
    engine.dispose()
    without_table = settings.model_copy(update={"tracker_db_url": f"sqlite:///{empty}"})
    assert purge(without_table, now=NOW)["conversations"] == 0
    assert forget_conversation(without_table, "anyone") == 0


def test_forget_one_conversation(settings: Settings, tracker_db_url: str) -> None:
    add_events(tracker_db_url, "to-forget", 2, 1, 0)
    add_events(tracker_db_url, "another", 1)

    assert forget_conversation(settings, "to-forget") == 3
    assert events_by_sender(tracker_db_url) == {"another": 1}
    assert forget_conversation(settings, "to-forget") == 0


def test_a_failing_step_does_not_stop_the_others(settings: Settings, context: AppContext) -> None:
    with Session(context.engine) as session:
        session.add(
            Checklist(
                code="ANCIEN02",
                demarche="permis_perdu",
                reponses=[],
                resultat={},
                cree_le=NOW - timedelta(days=90),
            )
        )
        session.commit()
    unreachable = settings.model_copy(
        update={"tracker_db_url": "postgresql://postgres:secret@127.0.0.1:1/rasa"}
    )

    with pytest.raises(PurgeFailed) as failed:
        purge(unreachable, now=NOW)

    assert set(failed.value.failures) == {"conversations"}
    assert failed.value.counts["checklists"] == 1
    assert "secret" not in str(failed.value)


def test_the_loop_logs_errors_and_goes_on(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    outcomes: list[object] = [
        RuntimeError("base verrouillée"),
        PurgeFailed({"conversations": 0, "checklists": 2}, {"conversations": "OperationalError"}),
        {"conversations": 4, "checklists": 0},
    ]
    sleeps: list[float] = []

    def fake_purge(_settings: Settings, *_args: object) -> dict[str, int]:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        assert isinstance(outcome, dict)
        return outcome

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if not outcomes:
            raise asyncio.CancelledError

    monkeypatch.setattr(retention, "purge", fake_purge)
    monkeypatch.setattr(retention.asyncio, "sleep", fake_sleep)
    caplog.set_level(logging.DEBUG, logger="api")

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(retention_loop(settings))

    assert sleeps == [60.0, 3600, 3600, 3600]
    messages = [record.getMessage() for record in caplog.records]
    assert "retention: purge failed: RuntimeError: base verrouillée" in messages
    assert "retention: purge failed: conversations: OperationalError" in messages
    assert "retention: deleted conversations 0, checklists 2" in messages
    assert "retention: deleted conversations 4, checklists 0" in messages


ADMIN = bearer("GUICHET_ADMIN_TOKEN")


def test_admin_erases_a_conversation(
    settings: Settings, tracker_db_url: str, client: TestClient
) -> None:
    add_events(tracker_db_url, "conversation-a", 1, 0)
    add_events(tracker_db_url, "conversation-b", 0)

    response = client.delete("/v1/admin/conversations/conversation-a", headers=ADMIN)

    assert response.status_code == 204 and response.content == b""
    assert events_by_sender(tracker_db_url) == {"conversation-b": 1}
    again = client.delete("/v1/admin/conversations/conversation-a", headers=ADMIN)
    assert again.status_code == 404
    assert again.json()["detail"] == "Aucune conversation sous cet identifiant."


def test_only_admins_erase_conversations(
    settings: Settings, tracker_db_url: str, client: TestClient
) -> None:
    add_events(tracker_db_url, "conversation-a", 0)
    for headers in ({}, bearer(), bearer("GUICHET_INSTRUCTION_TOKEN")):
        response = client.delete("/v1/admin/conversations/conversation-a", headers=headers)
        assert response.status_code == 401
    assert events_by_sender(tracker_db_url) == {"conversation-a": 1}
