"""Checks before sending: saved under a short unambiguous code, read back by code."""

import re

from fastapi.testclient import TestClient

from api.codes import ALPHABET
from tests.api.conftest import bearer

CHECKLIST = {
    "demarche": "permis_perte",
    "reponses": [
        {"piece": "photo_signature", "reponse": "oui"},
        {"piece": "justificatif_domicile", "reponse": "non"},
        {"piece": "timbre_fiscal", "reponse": "je_ne_sais_pas"},
        {"piece": "avis_medical", "reponse": "non_concerne"},
    ],
    "resultat": {
        "prets": ["photo_signature"],
        "manquants": ["justificatif_domicile"],
        "a_verifier": ["timbre_fiscal"],
    },
}


def test_save_then_read_back_by_code(client: TestClient) -> None:
    created = client.post("/v1/checklists", json=CHECKLIST, headers=bearer())
    assert created.status_code == 201
    code = created.json()["code"]
    assert re.fullmatch(f"[{ALPHABET}]{{8}}", code)
    assert not set(code) & set("0O1IL2Z5S8B")
    for headers in (bearer(), bearer("GUICHET_ADMIN_TOKEN")):
        spoken = f"{code[:4].lower()}-{code[4:]}"
        read = client.get(f"/v1/checklists/{spoken}", headers=headers)
        assert read.status_code == 200
        body = read.json()
        assert body["code"] == code
        assert body["demarche_libelle"] == "nouveau permis après une perte"
        assert body["reponses"] == CHECKLIST["reponses"]
        assert body["resultat"] == CHECKLIST["resultat"]


def test_codes_differ(client: TestClient) -> None:
    codes = {
        client.post("/v1/checklists", json=CHECKLIST, headers=bearer()).json()["code"]
        for _ in range(20)
    }
    assert len(codes) == 20


def test_unknown_code_is_404(client: TestClient) -> None:
    assert client.get("/v1/checklists/ACDEFHJK", headers=bearer()).status_code == 404


def test_invalid_checklists_are_422(client: TestClient) -> None:
    unknown_procedure = {**CHECKLIST, "demarche": "permis_bateau"}
    response = client.post("/v1/checklists", json=unknown_procedure, headers=bearer())
    assert response.status_code == 422
    assert response.json()["erreurs"] == [{"champ": "demarche", "message": "démarche inconnue"}]
    bad_answer = {**CHECKLIST, "reponses": [{"piece": "photo_signature", "reponse": "peut-être"}]}
    twice = {**CHECKLIST, "resultat": {**CHECKLIST["resultat"], "prets": ["timbre_fiscal"]}}
    unanswered = {**CHECKLIST, "resultat": {**CHECKLIST["resultat"], "prets": ["permis_actuel"]}}
    for body in (bad_answer, twice, unanswered, {**CHECKLIST, "en_plus": 1}, {}):
        assert client.post("/v1/checklists", json=body, headers=bearer()).status_code == 422


def test_scopes(client: TestClient) -> None:
    admin = bearer("GUICHET_ADMIN_TOKEN")
    assert client.post("/v1/checklists", json=CHECKLIST, headers=admin).status_code == 401
    code = client.post("/v1/checklists", json=CHECKLIST, headers=bearer()).json()["code"]
    instruction = bearer("GUICHET_INSTRUCTION_TOKEN")
    assert client.get(f"/v1/checklists/{code}", headers=instruction).status_code == 401
    assert client.get(f"/v1/checklists/{code}").status_code == 401
