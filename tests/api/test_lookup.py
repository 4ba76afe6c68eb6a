from fastapi.testclient import TestClient

from tests.api.conftest import bearer

LOOKUP = "/v1/dossiers/lookup"


def lookup(  # type: ignore[no-untyped-def]
    client: TestClient,
    numero: str,
    date_naissance: str,
    headers=None,
    *,
    asker: str | None = None,
    conversation: str | None = None,
):
    """POST a lookup as the assistant does, for `asker` in `conversation` when given."""
    headers = dict(bearer() if headers is None else headers)
    if asker is not None:
        headers["X-Guichet-Asker"] = asker
    if conversation is not None:
        headers["X-Guichet-Conversation"] = conversation
    return client.post(
        LOOKUP, json={"numero": numero, "date_naissance": date_naissance}, headers=headers
    )


def test_incomplete_dossier_lists_missing_piece_and_reason(client: TestClient) -> None:
    response = lookup(client, "2611000002", "1961-07-04")
    assert response.status_code == 200
    body = response.json()
    assert body["numero"] == "2611000002"
    assert body["demarche"] == "permis_renouvellement_fin_validite"
    assert body["statut"] == "incomplet"
    assert body["pieces_manquantes"] == ["justificatif_domicile"]
    assert body["motif"] == "le justificatif de domicile envoyé a plus de 6 mois"
    assert body["depuis_jours"] == 5
    assert [step["statut"] for step in body["historique"]] == [
        "transmis",
        "en_instruction",
        "incomplet",
    ]


def test_number_with_separators_is_found(client: TestClient) -> None:
    response = lookup(client, "26 11-000.006", "1940-09-02")
    assert response.status_code == 200
    assert response.json()["statut"] == "rejete"
    assert response.json()["pieces_manquantes"] == ["controle_technique"]


def test_stuck_dossier_is_flagged(client: TestClient) -> None:
    assert lookup(client, "2611000009", "1990-06-17").json()["bloque"] is True
    assert lookup(client, "2611000001", "1948-03-12").json()["bloque"] is False


def test_unknown_number_and_wrong_date_look_the_same(client: TestClient) -> None:
    wrong_date = lookup(client, "2611000002", "1961-07-05")
    unknown = lookup(client, "9911000002", "1961-07-04")
    assert wrong_date.status_code == unknown.status_code == 404
    assert wrong_date.content == unknown.content
    assert wrong_date.headers["content-length"] == unknown.headers["content-length"]


def test_missing_or_wrong_token_is_401(client: TestClient) -> None:
    assert lookup(client, "2611000002", "1961-07-04", headers={}).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert lookup(client, "2611000002", "1961-07-04", headers=wrong).status_code == 401
    admin_token = bearer("GUICHET_ADMIN_TOKEN")
    assert lookup(client, "2611000002", "1961-07-04", headers=admin_token).status_code == 401


def test_who_asks_is_optional_and_bounded(client: TestClient) -> None:
    ok = lookup(client, "2611000002", "1961-07-04", asker="5be1c0de", conversation="conv-1")
    assert ok.status_code == 200
    assert lookup(client, "2611000002", "1961-07-04", asker="").status_code == 200
    too_long = lookup(client, "2611000002", "1961-07-04", asker="a" * 257)
    assert too_long.status_code == 422


def test_malformed_body_is_422(client: TestClient) -> None:
    assert lookup(client, "2611000002", "04/07/1961").status_code == 422
    assert lookup(client, "!!", "1961-07-04").status_code == 422


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"status": "ok"}


def test_chat_page_is_served(client: TestClient) -> None:
    assert "Guichet" in client.get("/").text
