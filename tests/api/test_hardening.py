"""Request limits, French validation errors, CORS and the refusal of weak secrets."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.config import Settings
from api.db import make_engine
from tests.api.conftest import TOKENS, bearer

LOOKUP = "/v1/dossiers/lookup"


def test_422_is_french_and_never_echoes_the_birth_date(client: TestClient) -> None:
    response = client.post(
        LOOKUP, json={"numero": "2611000002", "date_naissance": "04/07/1961"}, headers=bearer()
    )
    assert response.status_code == 422
    body = response.json()
    assert body["erreurs"] == [
        {"champ": "date_naissance", "message": "date invalide : format attendu AAAA-MM-JJ"}
    ]
    assert body["detail"].startswith("Requête invalide")
    assert "1961" not in response.text
    missing = client.post(LOOKUP, json={"numero": "!!"}, headers=bearer()).json()["erreurs"]
    assert {"champ": "date_naissance", "message": "champ obligatoire"} in missing
    assert {
        "champ": "numero",
        "message": "le numéro doit contenir de 6 à 32 lettres ou chiffres",
    } in missing
    unreadable = client.post(
        LOOKUP, content=b"{not json", headers={**bearer(), "Content-Type": "application/json"}
    )
    assert unreadable.status_code == 422
    not_utf8 = client.post(
        LOOKUP, content=b"\xff\xfe{", headers={**bearer(), "Content-Type": "application/json"}
    )
    assert not_utf8.status_code == 400
    assert not_utf8.json() == {"detail": "Corps de requête illisible : JSON en UTF-8 attendu."}


def test_oversized_bodies_are_413(client: TestClient) -> None:
    big = {"numero": "2611000002", "date_naissance": "1961-07-04", "x": "a" * 20_000}
    assert client.post(LOOKUP, json=big, headers=bearer()).status_code == 413

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"a" * 1024

    streamed = client.post(
        LOOKUP, content=chunks(), headers={**bearer(), "Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
    assert "Kio" in streamed.json()["detail"]


def test_cors_only_for_configured_pages(client: TestClient) -> None:
    allowed = client.options(
        LOOKUP,
        headers={"Origin": "http://127.0.0.1:8000", "Access-Control-Request-Method": "POST"},
    )
    assert allowed.headers.get("access-control-allow-origin") == "http://127.0.0.1:8000"
    other = client.options(
        LOOKUP, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize("weak", ["", "change-me", "short"])
def test_refuses_to_start_outside_development_with_weak_secrets(
    monkeypatch: pytest.MonkeyPatch, weak: str
) -> None:
    for key, value in TOKENS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GUICHET_ENV", "production")
    assert Settings(_env_file=None).env == "production"  # strong secrets: accepted
    monkeypatch.setenv("GUICHET_ADMIN_TOKEN", weak)
    with pytest.raises(ValidationError, match="GUICHET_ADMIN_TOKEN"):
        Settings(_env_file=None)
    monkeypatch.setenv("GUICHET_ENV", "development")
    assert Settings(_env_file=None).admin_token == weak  # a newcomer's machine may start


def test_the_sqlite_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    database = tmp_path / "private" / "guichet.db"
    engine = make_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    engine.dispose()
    assert database.stat().st_mode & 0o777 == 0o600
    assert database.parent.stat().st_mode & 0o777 == 0o700
