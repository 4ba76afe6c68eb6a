"""RedactingSQLTrackerStore on PostgreSQL, loaded from endpoints.yml as Rasa loads it.

The same status check as tests/privacy/test_tracker_store.py plays on SQLite: what PostgreSQL
holds must never show the date of birth or the request number, while the turn after the number
gets it back, decrypted, from another store (another Rasa process).
"""

import asyncio
import json
import warnings

import pytest
import sqlalchemy as sa

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from rasa.shared.core.domain import Domain

    from assistant.tracker_store import ENCRYPTED_PREFIX, RedactingSQLTrackerStore
from scripts.paths import ROOT
from tests.privacy.test_tracker_store import (
    ASKER,
    SECRETS,
    SENDER,
    date_turn,
    first_turn,
    form_asks_for,
    number_turn,
    set_endpoints_env,
    store_from_endpoints,
    turn,
)
from tests.scale.services import driver_url, temporary_database

pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:Calling URL\\(\\) directly is deprecated:sqlalchemy.exc.SADeprecationWarning"
    ),
    pytest.mark.filterwarnings("ignore:Slot auto-fill has been removed in 3.0:UserWarning"),
]


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "assistant" / "domain"))


@pytest.fixture
def database(monkeypatch):
    with temporary_database() as url:
        set_endpoints_env(monkeypatch, url)
        yield url


def rows(url: str) -> list[tuple[str, str]]:
    """(type, data) of every stored event, as PostgreSQL holds them."""
    engine = sa.create_engine(driver_url(url))
    try:
        with engine.connect() as connection:
            found = connection.execute(sa.text("SELECT type_name, data FROM events ORDER BY id"))
            return [(kind, data) for kind, data in found]
    finally:
        engine.dispose()


def assert_no_secret(url: str) -> None:
    stored = "\n".join(data for _kind, data in rows(url)).encode()
    for secret in SECRETS:
        assert secret not in stored, secret


def test_a_status_check_across_two_processes_on_postgresql(database, domain):
    first, second = store_from_endpoints(domain), store_from_endpoints(domain)
    assert isinstance(first, RedactingSQLTrackerStore)
    assert first.engine.dialect.name == "postgresql"
    turn(first, domain, *first_turn())
    turn(first, domain, *number_turn())
    assert_no_secret(database)
    numbers = [
        json.loads(data)["value"]
        for kind, data in rows(database)
        if kind == "slot" and json.loads(data)["name"] == "numero_dossier"
    ]
    assert numbers[0] == "[numéro]"
    assert numbers[1].startswith(ENCRYPTED_PREFIX)

    # The other process replays the conversation from the database: the number is there.
    between = asyncio.run(second.retrieve(SENDER))
    assert between.get_slot("numero_dossier") == "2611000002"
    assert form_asks_for(between, domain) == "date_naissance"

    turn(second, domain, *date_turn())
    assert_no_secret(database)
    stored = [json.loads(data) for _kind, data in rows(database)]
    assert ENCRYPTED_PREFIX not in json.dumps(stored)
    users = [event for event in stored if event["event"] == "user"]
    assert [event["text"] for event in users] == ["Où en est mon dossier ?", "[numéro]", "[date]"]
    assert all(event["metadata"] == ASKER for event in users)
    after = asyncio.run(first.retrieve(SENDER))
    assert after.get_slot("numero_dossier") is None
    assert after.get_slot("date_naissance") is None
