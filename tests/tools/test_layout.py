"""The process layout is configuration only (scripts/services.py:Layout, scripts/scaled.py)."""

import uuid
from pathlib import Path

import psycopg
import pytest
import redis

from scripts import scaled
from scripts.services import Layout, Ports, StackError, build_services
from tests.scale.services import (
    PG_ADMIN_URL,
    postgres_unreachable,
    redis_unreachable,
    require_service,
)

PG = "postgresql://guichet@db.example:5432/guichet"
REDIS = "redis://:s3cret-password@cache.example:6379/1"
SECRETS = {"GUICHET_CHAT_TOKEN": "chat-token-not-in-ps", "GUICHET_RASA_TOKEN": "rasa-not-in-ps"}


def test_the_default_is_one_of_each_on_sqlite_and_memory(tmp_path: Path) -> None:
    layout = Layout.from_env({})
    assert layout == Layout()
    layout.check()
    services = build_services(Ports(), dict(SECRETS), log_dir=tmp_path, var_dir=tmp_path)
    assert [s.name for s in services] == ["api", "actions", "rasa"]
    rasa = services[-1].env
    assert rasa["GUICHET_TRACKER_DB_URL"] == f"sqlite:///{tmp_path / 'rasa_tracker.db'}"
    assert rasa["GUICHET_LOCK_STORE_URL"] == ""
    assert rasa["SANIC_WORKERS"] == "1"
    assert rasa["GUICHET_RASA_URL"] == "http://127.0.0.1:5005"
    assert "--workers" not in " ".join(services[0].command)


def test_the_scaled_layout_from_the_environment(tmp_path: Path) -> None:
    env = {
        **SECRETS,
        "GUICHET_TRACKER_DB_URL": PG,
        "GUICHET_LOCK_STORE_URL": REDIS,
        "GUICHET_API_WORKERS": "2",
        "ACTION_SERVER_SANIC_WORKERS": "2",
        "GUICHET_RASA_PROCESSES": "3",
    }
    ports = Ports.from_env(env, Layout.from_env(env).rasa_processes)
    assert ports.all_rasa == (5005, 5006, 5007)
    services = build_services(ports, env, log_dir=tmp_path, var_dir=tmp_path)
    assert [s.name for s in services] == ["api", "actions", "rasa", "rasa-2", "rasa-3"]
    assert [s.port for s in services[2:]] == [5005, 5006, 5007]
    assert len({s.log_path for s in services}) == 5
    for service in services:
        assert service.env["GUICHET_TRACKER_DB_URL"] == PG
        assert service.env["GUICHET_LOCK_STORE_URL"] == REDIS
        assert service.env["GUICHET_RASA_URL"] == (
            "http://127.0.0.1:5005,http://127.0.0.1:5006,http://127.0.0.1:5007"
        )
        # Secrets and passwords travel in the environment, never on a command line (ps).
        command = " ".join(service.command)
        assert all(secret not in command for secret in [*SECRETS.values(), "s3cret"])
    assert "--workers 2" in services[0].command[-1]
    assert services[1].env["ACTION_SERVER_SANIC_WORKERS"] == "2"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SANIC_WORKERS": "2", "GUICHET_TRACKER_DB_URL": PG}, "GUICHET_LOCK_STORE_URL"),
        ({"GUICHET_RASA_PROCESSES": "2", "GUICHET_LOCK_STORE_URL": REDIS}, "postgresql://"),
        (
            {
                "SANIC_WORKERS": "2",
                "GUICHET_LOCK_STORE_URL": REDIS,
                "GUICHET_TRACKER_DB_URL": "sqlite:////tmp/t.db",
            },
            "GUICHET_TRACKER_DB_URL",
        ),
        ({"GUICHET_API_WORKERS": "deux"}, "GUICHET_API_WORKERS"),
        ({"SANIC_WORKERS": "0"}, "SANIC_WORKERS"),
    ],
)
def test_layouts_that_would_mix_up_messages_are_refused(env: dict, named: str) -> None:
    with pytest.raises(StackError, match=named):
        Layout.from_env(env).check()


def test_unreachable_postgresql_and_redis_are_explained_without_passwords() -> None:
    with pytest.raises(StackError, match="PostgreSQL ne répond pas") as error:
        scaled.prepare({"GUICHET_SCALED_PG_URL": "postgresql://guichet:pw-x9@127.0.0.1:1"})
    assert "pw-x9" not in str(error.value) and "PostgreSQL is not reachable" in str(error.value)
    with pytest.raises(StackError, match="Redis ne répond pas") as error:
        scaled.check_redis("redis://:pw-y8@127.0.0.1:1/1")
    assert "pw-y8" not in str(error.value) and "Redis is not reachable" in str(error.value)


def test_bad_names_are_refused_before_any_connection() -> None:
    with pytest.raises(StackError, match="GUICHET_SCALED_DATABASE"):
        scaled.prepare({"GUICHET_SCALED_DATABASE": 'x"; DROP DATABASE postgres; --'})
    with pytest.raises(StackError, match="GUICHET_SCALED_REDIS_DB"):
        scaled.prepare({"GUICHET_SCALED_REDIS_DB": "un"})


def test_the_scaled_database_is_created_once_and_the_layout_switched() -> None:
    require_service(postgres_unreachable())
    require_service(redis_unreachable())
    name = f"guichet_scaled_test_{uuid.uuid4().hex[:8]}"
    server = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        lines: list[str] = []
        env = scaled.prepare(
            {"GUICHET_SCALED_PG_URL": server, "GUICHET_SCALED_DATABASE": name},
            report=lines.append,
        )
        assert "base créée" in lines[0]
        again = scaled.prepare(
            {"GUICHET_SCALED_PG_URL": server, "GUICHET_SCALED_DATABASE": name},
            report=lines.append,
        )
        assert "base créée" not in lines[1]
        assert env == again
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["GUICHET_TRACKER_DB_URL"].startswith("postgresql://")
        assert env["GUICHET_TRACKER_DB_URL"].endswith(f"/{name}")
        assert env["GUICHET_LOCK_STORE_URL"] == env["GUICHET_REDIS_URL"]
        assert env["GUICHET_LOCK_STORE_URL"].endswith("/1")
        assert redis.Redis.from_url(env["GUICHET_LOCK_STORE_URL"]).ping()
        layout = Layout.from_env(env)
        layout.check()
        assert (layout.rasa_processes, layout.api_workers, layout.action_workers) == (2, 2, 2)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
