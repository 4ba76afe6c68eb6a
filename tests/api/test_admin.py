"""The back office's list of stuck dossiers."""

from fastapi.testclient import TestClient

from tests.api.conftest import bearer
from tests.api.test_events import post_event

ADMIN = bearer("GUICHET_ADMIN_TOKEN")


def numeros(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [dossier["numero"] for dossier in response.json()["dossiers"]]


def test_stuck_dossiers_oldest_first(client: TestClient) -> None:
    response = client.get("/v1/admin/dossiers", params={"bloque": "true"}, headers=ADMIN)
    assert response.status_code == 200
    # 2611000007 is a draft untouched for 40 days (normal delay 30): stuck as well.
    assert numeros(response) == ["2611000009", "2611000004", "2611000007"]
    first = response.json()["dossiers"][0]
    assert first["depuis_jours"] == 120 and first["delai_normal_jours"] == 30
    assert first["bloque"] is True and first["titulaire"] == "Oksana Kovalenko"
    assert "date_naissance" not in response.text and "hmac" not in response.text


def test_not_stuck_and_all(client: TestClient) -> None:
    others = client.get("/v1/admin/dossiers", params={"bloque": "false"}, headers=ADMIN).json()
    assert others["total"] == 9
    assert "2611000001" in [d["numero"] for d in others["dossiers"]]
    assert not any(d["bloque"] for d in others["dossiers"])
    everything = client.get("/v1/admin/dossiers", params={"limite": 2}, headers=ADMIN).json()
    assert everything["total"] == 12 and len(everything["dossiers"]) == 2


def test_an_event_unblocks_a_dossier(client: TestClient) -> None:
    assert post_event(client, "2611000009", {"event_id": "e-9", "statut": "valide"}).is_success
    stuck = client.get("/v1/admin/dossiers", params={"bloque": "true"}, headers=ADMIN)
    assert numeros(stuck) == ["2611000004", "2611000007"]


def test_configured_delay_changes_what_is_stuck(client: TestClient, configure) -> None:  # type: ignore[no-untyped-def]
    client = configure(GUICHET_DELAIS_NORMAUX_JOURS='{"en_instruction": 100, "brouillon": 60}')
    stuck = client.get("/v1/admin/dossiers", params={"bloque": "true"}, headers=ADMIN)
    assert numeros(stuck) == ["2611000009"]


def test_only_admins(client: TestClient) -> None:
    for headers in ({}, bearer(), bearer("GUICHET_INSTRUCTION_TOKEN")):
        assert client.get("/v1/admin/dossiers", headers=headers).status_code == 401
