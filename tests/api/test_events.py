"""Status updates from the instruction system: applied once, validated, scoped."""

from fastapi.testclient import TestClient

from tests.api.conftest import bearer
from tests.api.test_lookup import lookup

INSTRUCTION = bearer("GUICHET_INSTRUCTION_TOKEN")


def post_event(client: TestClient, numero: str, body: dict, headers=None):  # type: ignore[no-untyped-def]
    return client.post(
        f"/v1/dossiers/{numero}/events",
        json=body,
        headers=INSTRUCTION if headers is None else headers,
    )


INCOMPLETE = {
    "event_id": "instr-0001",
    "statut": "incomplet",
    "pieces_manquantes": ["photo_signature", "avis_medical"],
    "motif": "la photo est floue",
}


def test_event_changes_status_pieces_and_history(client: TestClient) -> None:
    response = post_event(client, "2611000001", INCOMPLETE)
    assert response.status_code == 200
    assert response.json()["statut"] == "incomplet"
    assert response.json()["historique_etapes"] == 5
    body = lookup(client, "2611000001", "1948-03-12").json()
    assert body["statut"] == "incomplet"
    assert body["depuis_jours"] == 0
    assert body["pieces_manquantes"] == ["photo_signature", "avis_medical"]
    assert body["pieces_manquantes_libelles"][1] == "avis médical (cerfa n°14880)"
    assert body["motif"] == "la photo est floue"
    assert [step["statut"] for step in body["historique"]][-2:] == ["en_instruction", "incomplet"]


def test_same_event_twice_is_applied_once(client: TestClient) -> None:
    first = post_event(client, "2611000001", INCOMPLETE)
    second = post_event(client, "2611000001", INCOMPLETE)
    assert second.status_code == first.status_code == 200
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replay"] == "true"
    history = lookup(client, "2611000001", "1948-03-12").json()["historique"]
    assert [step["statut"] for step in history].count("incomplet") == 1


def test_same_event_id_with_other_content_is_a_conflict(client: TestClient) -> None:
    assert post_event(client, "2611000001", INCOMPLETE).status_code == 200
    reused = post_event(client, "2611000001", {**INCOMPLETE, "statut": "valide"})
    assert reused.status_code == 409
    assert post_event(client, "2611000002", INCOMPLETE).status_code == 409


def test_shipping_event_then_same_status_keeps_history(client: TestClient) -> None:
    shipped = {"event_id": "e-1", "statut": "expedie", "suivi_courrier": "1L00000000003"}
    assert post_event(client, "2611000003", shipped).status_code == 200
    again = {**shipped, "event_id": "e-2", "suivi_courrier": "1L00000000004"}
    assert post_event(client, "2611000003", again).json()["historique_etapes"] == 5
    body = lookup(client, "2611000003", "1955-11-30").json()
    assert (body["statut"], body["suivi_courrier"]) == ("expedie", "1L00000000004")


def test_unknown_status_or_piece_is_422_in_french(client: TestClient) -> None:
    response = post_event(
        client, "2611000001", {**INCOMPLETE, "statut": "perdu", "pieces_manquantes": ["x"]}
    )
    assert response.status_code == 422
    assert response.json()["erreurs"] == [
        {"champ": "statut", "message": "statut inconnu"},
        {"champ": "pieces_manquantes.0", "message": "pièce inconnue"},
    ]
    duplicate = {**INCOMPLETE, "pieces_manquantes": ["avis_medical", "avis_medical"]}
    assert post_event(client, "2611000001", duplicate).status_code == 422


def test_unknown_dossier_is_404_and_old_event_is_409(client: TestClient) -> None:
    assert post_event(client, "9911000001", INCOMPLETE).status_code == 404
    old = {**INCOMPLETE, "le": "2020-01-01T00:00:00Z"}
    assert post_event(client, "2611000001", old).status_code == 409


def test_only_the_instruction_token_may_post_events(client: TestClient) -> None:
    for headers in ({}, bearer(), bearer("GUICHET_ADMIN_TOKEN")):
        assert post_event(client, "2611000001", INCOMPLETE, headers=headers).status_code == 401
    assert lookup(client, "2611000001", "1948-03-12").json()["statut"] == "en_instruction"
