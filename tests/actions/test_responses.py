"""Every response name the actions build for a known status, procedure or document exists."""

import pytest

from guichet import responses
from guichet.catalogue import get_catalogue

CATALOGUE = get_catalogue()


@pytest.mark.parametrize("statut", sorted(CATALOGUE.statuses))
def test_every_status_has_its_own_answer(domain: dict, statut: str) -> None:
    assert responses.status(statut) in domain["responses"], "it would fall back to the generic one"


@pytest.mark.parametrize("procedure", sorted(CATALOGUE.procedures))
def test_every_procedure_has_its_intro_and_topics(domain: dict, procedure: str) -> None:
    names = [responses.checklist_intro(procedure)]
    names += [responses.procedure_topic(topic, procedure) for topic in responses.TOPICS]
    assert [name for name in names if name not in domain["responses"]] == []


@pytest.mark.parametrize("document", sorted(CATALOGUE.documents))
def test_every_document_has_its_question_explanation_and_summary(
    domain: dict, document: str
) -> None:
    names = [responses.ask_piece(document), responses.explain_piece(document)]
    names += [responses.summary_piece(kind, document) for kind in responses.SUMMARY_KINDS]
    assert [name for name in names if name not in domain["responses"]] == []
    assert responses.piece_slot(document) in domain["slots"]


def test_every_choice_of_procedure_has_its_buttons(domain: dict) -> None:
    choices = ["permis_de_conduire", "carte_grise"]
    choices += [intent for intent, ids in CATALOGUE.intentions.items() if len(ids) > 1]
    names = [responses.choose_procedure(choice) for choice in choices]
    names += [responses.CHOOSE_DOMAIN, responses.EXPLAIN_UNKNOWN, responses.STATUS_OTHER]
    names += [responses.topic_general(topic) for topic in responses.TOPIC_BY_INTENT.values()]
    assert [name for name in names if name not in domain["responses"]] == []


def test_every_status_procedure_and_document_together(domain: dict) -> None:
    """status × procedure × document: each combination a status answer can meet is named."""
    missing = {
        name
        for statut in CATALOGUE.statuses
        for procedure in CATALOGUE.procedures.values()
        for document in procedure.documents
        for name in (
            responses.status(statut),
            responses.checklist_intro(procedure.id),
            responses.summary_piece("missing", document),
        )
        if name not in domain["responses"]
    }
    assert missing == set()
