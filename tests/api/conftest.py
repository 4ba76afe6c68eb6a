"""A fresh, migrated and seeded database per test, on SQLite and (when reachable) PostgreSQL.

PostgreSQL runs on CI machines on its standard local port. Elsewhere its tests are skipped
with the reason, unless REQUIRE_SERVICES=1 makes a missing server a failure.
"""

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import make_url

from api.config import get_settings
from api.db import get_engine, get_sessionmaker
from api.main import create_app
from api.reference import get_reference
from api.seed import main as seed_main

PG_ADMIN_URL = os.environ.get(
    "GUICHET_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
TOKENS = {
    "GUICHET_ASSISTANT_TOKEN": "assistant-token-for-tests-0001",
    "GUICHET_INSTRUCTION_TOKEN": "instruction-token-for-tests-02",
    "GUICHET_ADMIN_TOKEN": "admin-token-for-tests-00000003",
    "GUICHET_DOB_HASH_KEY": "dob-hash-key-for-tests-0000004",
}


def clear_caches() -> None:
    for cached in (get_settings, get_engine, get_sessionmaker, get_reference):
        cached.cache_clear()


def _postgres_reachable() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as error:
        return f"PostgreSQL unreachable at {PG_ADMIN_URL}: {error}".splitlines()[0]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """An empty database of each kind, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'guichet.db'}"
        return
    reason = _postgres_reachable()
    if reason:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason} (REQUIRE_SERVICES=1)")
        pytest.skip(reason)
    name = f"guichet_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        get_engine().dispose()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the API at the test database with known tokens."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    for key, value in TOKENS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GUICHET_ENV", "development")
    clear_caches()
    yield
    get_engine().dispose()
    clear_caches()


@pytest.fixture
def seeded(settings_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Migrate and seed through the same command `make run` uses."""
    monkeypatch.setattr("sys.argv", ["api.seed"])
    seed_main()


@pytest.fixture
def client(seeded: None) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def bearer(key: str = "GUICHET_ASSISTANT_TOKEN") -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[key]}"}
