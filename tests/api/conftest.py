"""A fresh, migrated and seeded database per test, on SQLite and (when reachable) PostgreSQL.

PostgreSQL and Redis run on CI machines on their standard local ports. Elsewhere their tests
are skipped with the reason, unless REQUIRE_SERVICES=1 makes a missing server a failure.
`limited_client` runs a test once per home of the attempt counters: SQLite, PostgreSQL, Redis.
Each configuration gets an app of its own, `create_app(Settings())` after the environment is
set: nothing is cached between them.
"""

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import make_url

from api.config import Settings
from api.context import AppContext
from api.main import create_app
from api.seed import main as seed_main

PG_ADMIN_URL = os.environ.get(
    "GUICHET_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_TEST_URL = os.environ.get("GUICHET_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TOKENS = {
    "GUICHET_ASSISTANT_TOKEN": "assistant-token-for-tests-0001",
    "GUICHET_INSTRUCTION_TOKEN": "instruction-token-for-tests-02",
    "GUICHET_ADMIN_TOKEN": "admin-token-for-tests-00000003",
    "GUICHET_DOB_HASH_KEY": "dob-hash-key-for-tests-0000004",
    "GUICHET_CHAT_TOKEN": "chat-token-for-tests-000000005",
    "GUICHET_COOKIE_KEY": "cookie-key-for-tests-0000000006",
}


def _postgres_reachable() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as error:
        return f"PostgreSQL unreachable at {PG_ADMIN_URL}: {error}".splitlines()[0]


def require_service(reason: str | None) -> None:
    """Skip with `reason`, or fail when REQUIRE_SERVICES=1 says the service must be there."""
    if reason:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason} (REQUIRE_SERVICES=1)")
        pytest.skip(reason)


def _redis_reachable() -> str | None:
    try:
        with redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=3) as client:
            client.ping()
        return None
    except redis.RedisError as error:
        return f"Redis unreachable at {REDIS_TEST_URL}: {error}".splitlines()[0]


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A reachable Redis; the caller isolates its keys with a unique prefix."""
    require_service(_redis_reachable())
    yield REDIS_TEST_URL


@contextmanager
def empty_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of `kind` ("sqlite" or "postgresql"), dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'guichet.db'}"
        return
    require_service(_postgres_reachable())
    name = f"guichet_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind, dropped afterwards."""
    with empty_database(request.param, tmp_path) as url:
        yield url


def point_api_at(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Point the API at `database_url` with known tokens, counters in the database, and a
    conversation store of its own (never the checkout's var/)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GUICHET_TRACKER_DB_URL", f"sqlite:///{tmp_path / 'rasa_tracker.db'}")
    for key, value in TOKENS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GUICHET_ENV", "development")
    monkeypatch.setenv("GUICHET_REDIS_URL", "")  # the database limiter unless a test says so


def delete_redis_keys(url: str, prefix: str) -> None:
    with redis.Redis.from_url(url) as client:
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)


@pytest.fixture
def settings_env(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[None]:
    """Point the API at the test database with known tokens."""
    point_api_at(database_url, monkeypatch, tmp_path)
    yield


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The API with its attempt counters in each home: SQLite, PostgreSQL, or Redis (with the
    dossiers in SQLite). Redis keys get a prefix of their own, deleted afterwards."""
    kind = request.param
    with empty_database("sqlite" if kind == "redis" else kind, tmp_path) as database_url:
        point_api_at(database_url, monkeypatch, tmp_path)
        prefix = f"guichet-test-{uuid.uuid4().hex[:8]}"
        if kind == "redis":
            monkeypatch.setenv("GUICHET_REDIS_URL", request.getfixturevalue("redis_url"))
            monkeypatch.setenv("GUICHET_REDIS_PREFIX", prefix)
        try:
            yield kind
        finally:
            if kind == "redis":
                delete_redis_keys(REDIS_TEST_URL, prefix)


@pytest.fixture
def limited_client(backend: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A client of the seeded API, once per home of the attempt counters."""
    monkeypatch.setattr("sys.argv", ["api.seed"])
    seed_main()
    with TestClient(create_app(Settings())) as test_client:
        yield test_client


@pytest.fixture
def seeded(settings_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Migrate and seed through the same command `make run` uses."""
    monkeypatch.setattr("sys.argv", ["api.seed"])
    seed_main()


@pytest.fixture
def client(seeded: None) -> Iterator[TestClient]:
    with TestClient(create_app(Settings())) as test_client:
        yield test_client


def context_of(client: TestClient) -> AppContext:
    """The context of the app a test client talks to: its engines, limiter, settings."""
    return client.app.state.context  # type: ignore[attr-defined]


@pytest.fixture
def api_context(seeded: None) -> Iterator[AppContext]:
    """The context an app of the test's settings would have, without the app."""
    context = AppContext.build(Settings())
    try:
        yield context
    finally:
        context.dispose()


def bearer(key: str = "GUICHET_ASSISTANT_TOKEN") -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[key]}"}


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator:  # type: ignore[type-arg]
    """Another configuration (limits, delays): a new app of those settings, on the same
    database, started; it is stopped at the end of the test."""
    with ExitStack() as started:

        def apply(**env: str) -> TestClient:
            for key, value in env.items():
                monkeypatch.setenv(key, value)
            return started.enter_context(TestClient(create_app(Settings())))

        yield apply


@contextmanager
def door_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rasa_transport, **env: str
) -> Iterator[TestClient]:
    """The API on an empty SQLite database, its chat door talking to a fake Rasa; `env` adds
    settings (GUICHET_… variables) for one test."""
    with empty_database("sqlite", tmp_path) as url:
        monkeypatch.setenv("DATABASE_URL", url)
        for key, value in {**TOKENS, **env}.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("GUICHET_TRACKER_DB_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
        monkeypatch.setenv("GUICHET_REDIS_URL", "")
        app = create_app(Settings(), rasa_transport=rasa_transport)
        with TestClient(app) as client:
            yield client
