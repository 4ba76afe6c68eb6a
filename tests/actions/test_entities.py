"""The entity patterns Rasa builds from assistant/data/nlu, and the global validation that
normalises what they extract."""

import asyncio
import re
from pathlib import Path

import pytest
from rasa.nlu.utils.pattern_utils import extract_patterns
from rasa.shared.nlu.training_data.loading import load_data
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from assistant.actions.dossier import ValidateDossierStatusForm
from assistant.actions.entities import ValidateMentionedIdentifiers
from tests.actions.conftest import make_tracker, sent

NLU_DATA = Path(__file__).resolve().parents[2] / "assistant" / "data" / "nlu"


@pytest.fixture(scope="module")
def patterns() -> list[dict]:
    """The patterns RegexEntityExtractor builds from the training data (config.yml's options).

    Importing the extractor itself would load TensorFlow; its matching is re.finditer over
    these patterns, case-insensitive by default, which `extract` repeats.
    """
    training_data = load_data(str(NLU_DATA))
    return extract_patterns(
        training_data, use_lookup_tables=True, use_regexes=True, use_only_entities=True
    )


def extract(patterns: list[dict], text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for pattern in patterns:
        for match in re.finditer(pattern["pattern"], text, flags=re.IGNORECASE):
            found.setdefault(pattern["name"], []).append(match.group(0))
    return found


@pytest.mark.parametrize(
    ("text", "entity", "value"),
    [
        ("mon numéro NEPH : 1205 7520 0123", "neph", "NEPH : 1205 7520 0123"),
        (
            "le numero de mon permis est 120575200123",
            "neph",
            "numero de mon permis est 120575200123",
        ),
        ("c'est le 120575200123", "neph", None),
        ("numéro de permis 120575200123", "neph", "numéro de permis 120575200123"),
        ("ma demande 26 11 000 002", "numero_dossier", "26 11 000 002"),
        ("la voiture AB-123-CD", "plaque", "AB-123-CD"),
        ("immatriculée ab123cd", "plaque", "ab123cd"),
        ("ancienne plaque 1234 AB 56", "plaque", "1234 AB 56"),
        ("je suis né le 12/03/1948", "date", "12/03/1948"),
        ("vendue le 1er août 2026", "date", "1er août 2026"),
        ("j'habite au 31000", "code_postal", "31000"),
        ("je veux faire ma carte grise", "domaine", "carte grise"),
        ("jvoudrai fair ma cg", "domaine", "cg"),
        ("une demande de permi", "domaine", "permi"),
        ("les cgv du site", "domaine", None),
    ],
)
def test_patterns_find_what_people_write(
    patterns: list[dict], text: str, entity: str, value: str | None
) -> None:
    found = extract(patterns, text).get(entity, [])
    if value is None:
        assert found == [], "not a whole word, or a NEPH without its keyword right before it"
    else:
        assert value in found


@pytest.mark.parametrize(
    ("said", "domaine"),
    [
        ("carte grise", "carte_grise"),
        ("cg", "carte_grise"),
        ("certificat d'immatriculation", "carte_grise"),
        ("permi", "permis_de_conduire"),
        ("permis de conduire", "permis_de_conduire"),
    ],
)
def test_domain_names_map_to_the_procedures_domains(said: str, domaine: str) -> None:
    assert load_data(str(NLU_DATA)).entity_synonyms[said] == domaine


@pytest.mark.parametrize("text", ["j'ai la 208 du 75", "12 km 75", "rendez-vous demain à 14 h"])
def test_ordinary_words_are_not_plates_or_dates(patterns: list[dict], text: str) -> None:
    found = extract(patterns, text)
    assert "plaque" not in found and "date" not in found


def test_mentioned_identifiers_are_normalised(domain: dict) -> None:
    tracker = make_tracker(
        {"plaque": "ab123cd", "neph": "NEPH : 1205 7520 0123", "date": "1er août 2026"}
    )
    tracker.events = [
        SlotSet("plaque", "ab123cd"),
        SlotSet("neph", "NEPH : 1205 7520 0123"),
        SlotSet("date", "1er août 2026"),
    ]
    action = ValidateMentionedIdentifiers()
    events = asyncio.run(action.run(CollectingDispatcher(), tracker, sent(action, domain)))
    assert {event["name"]: event["value"] for event in events} == {
        "plaque": "AB-123-CD",
        "neph": "120575200123",
        "date": "2026-08-01",
    }


def test_a_neph_is_not_taken_for_the_request_number(domain: dict) -> None:
    tracker = make_tracker({}, text="NEPH 120575200123", active_loop="dossier_status_form")
    tracker.latest_message["entities"] = [{"entity": "neph", "value": "NEPH 120575200123"}]
    dispatcher = CollectingDispatcher()
    result = ValidateDossierStatusForm().validate_numero_dossier(
        "NEPH 120575200123", dispatcher, tracker, domain
    )
    assert result == {"numero_dossier": None}
    assert [message["response"] for message in dispatcher.messages] == ["utter_numero_is_neph"]
