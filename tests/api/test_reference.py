"""The API's labels and delays come from the catalogue, and name things as the assistant does."""

from pathlib import Path

import yaml

from api.config import Settings
from api.reference import load_reference
from guichet.catalogue import DEFAULT_PATH, load_catalogue

ROOT = Path(__file__).resolve().parents[2]


def _responses() -> dict[str, list[dict]]:
    merged: dict[str, list[dict]] = {}
    for path in sorted((ROOT / "assistant" / "domain").glob("*.yml")):
        merged.update(yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {})
    return merged


def _texts(responses: dict[str, list[dict]], name: str) -> list[str]:
    return [variation["text"] for variation in responses[name]]


def test_every_id_of_the_demo_dossiers_is_in_the_catalogue() -> None:
    catalogue = load_catalogue()
    fixture = yaml.safe_load(Settings().fixture_path.read_text(encoding="utf-8"))
    assert set(fixture) == {"dossiers"}, "labels and delays live in the catalogue only"
    for dossier in fixture["dossiers"]:
        assert dossier["demarche"] in catalogue.procedures, dossier["numero"]
        statuts = [dossier["statut"], *(step["statut"] for step in dossier.get("historique", []))]
        for statut in statuts:
            assert statut in catalogue.statuses, (dossier["numero"], statut)
        for piece in dossier.get("pieces_manquantes", []):
            assert piece in catalogue.documents, (dossier["numero"], piece)


def test_the_reference_reads_the_catalogue_and_overrides_delays() -> None:
    reference = load_reference(DEFAULT_PATH, {"en_instruction": 45})
    catalogue = load_catalogue()
    assert reference.demarches["permis_perte"] == catalogue.procedures["permis_perte"].label
    assert reference.statuts.keys() == catalogue.statuses.keys()
    assert reference.delais_normaux_jours["en_instruction"] == 45
    assert reference.delais_normaux_jours["attente_paiement"] == 15
    assert "expedie" not in reference.delais_normaux_jours, "a sent title is never stuck"


def test_the_status_answer_and_the_check_name_each_procedure_the_same() -> None:
    """The status answer says the API's label; the check before sending, the domain's."""
    reference = load_reference(DEFAULT_PATH, {})
    responses = _responses()
    for procedure in load_catalogue().procedures.values():
        said = reference.demarches[procedure.id]
        intro = _texts(responses, f"utter_checklist_intro_{procedure.id}")
        assert all(f"demande : {said}." in text for text in intro), (procedure.id, said)
        for topic in ("cost", "deadline", "temporary", "where"):
            for text in _texts(responses, f"utter_procedure_{topic}_{procedure.id}"):
                assert "« " not in text or f"« {said} »" in text, (procedure.id, topic)


def test_the_status_answer_and_the_check_name_each_document_the_same() -> None:
    """A missing document in the status answer is told by the check's own response for it."""
    reference = load_reference(DEFAULT_PATH, {})
    responses = _responses()
    for document in load_catalogue().documents.values():
        said = reference.pieces[document.id]
        for kind in ("ready", "missing", "check"):
            name = f"utter_checklist_{kind}_piece_{document.id}"
            assert all(said in text for text in _texts(responses, name)), name
