"""End to end: a full check before sending, through the real Rasa, actions and API."""

import pytest

from tests.e2e.conftest import Person

SUMMARY = "Voici le bilan"


def answer_until_summary(person: Person, first: list[str], choose) -> list[str]:  # type: ignore[no-untyped-def]
    """Answer each question with choose(question) until the summary comes; return all texts."""
    texts = first
    seen: list[str] = list(first)
    for _ in range(20):
        if any(SUMMARY in text for text in texts):
            return seen
        texts = person.say(choose(texts[-1]))
        seen += texts
    pytest.fail(f"no summary after 20 answers: {seen[-3:]}")


def test_lost_licence_check_lists_proof_of_address_as_missing(person: Person) -> None:
    first = person.say("Bonjour, j'ai perdu mon permis de conduire")
    assert any("Vérifions votre demande : nouveau permis après une perte" in t for t in first)
    answered_dont_know = []

    def choose(question: str) -> str:
        if "justificatif de domicile a-t-il moins de 6 mois" in question:
            return "non"
        if "code photo-signature" in question:
            answered_dont_know.append(question)
            return "je ne sais pas"
        if "pas concerné" in question:
            return "pas concerné"
        return "oui"

    texts = answer_until_summary(person, first, choose)
    summary = " ".join(texts[next(i for i, t in enumerate(texts) if SUMMARY in t) :])
    assert "Il manque : justificatif de domicile. Ce qu'il faut faire" in summary
    assert answered_dont_know, "the photo question was never asked"
    assert "À vérifier : photo-signature" in summary
    assert "Prêt : photo-signature" not in summary
    assert "Son code est" in summary


def test_dont_know_explains_the_rule_and_repeat_repeats(person: Person) -> None:
    person.say("j'ai vendu ma voiture")
    explained = person.say("je ne sais pas")
    assert len(explained) >= 2, "expected an explanation then the next question"
    assert person.say("répétez") == explained


def test_human_help_from_inside_the_check_then_carry_on(person: Person) -> None:
    question = person.say("j'ai vendu ma voiture")[-1]
    texts = person.say("je veux parler à quelqu'un")
    assert "34 00" in texts[0]
    assert texts[-1] == question


def test_human_help_while_giving_the_dossier_number(person: Person) -> None:
    question = person.say("où en est mon dossier")[-1]
    texts = person.say("je veux parler à quelqu'un")
    assert "34 00" in texts[0]
    assert texts[-1] == question


def test_stop_leaves_the_check(person: Person) -> None:
    person.say("j'ai vendu ma voiture")
    assert "on arrête" in " ".join(person.say("stop"))


def test_go_back_asks_the_previous_question_again(person: Person) -> None:
    first_question = person.say("j'ai vendu ma voiture")[-1]
    person.say("oui")
    texts = person.say("retour")
    assert texts[-1] == first_question


def test_two_misunderstandings_lead_to_a_person(person: Person) -> None:
    # "/nlu_fallback" is what the NLU yields for a message it cannot place (confidence under
    # the FallbackClassifier threshold); the NLU side is measured in docs/nlu.md.
    assert "autrement" in " ".join(person.say("/nlu_fallback"))
    assert "34 00" in " ".join(person.say("/nlu_fallback"))


def test_asking_about_another_document_explains_that_one_then_carries_on(
    person: Person,
) -> None:
    question = person.say("j'ai perdu mon permis de conduire")[-1]
    texts = person.say("c'est quoi un justificatif de domicile ?")
    assert "une quittance de loyer" in texts[0], "the proof of address is explained"
    assert texts[-1] == question


def test_naming_the_carte_grise_offers_only_its_procedures(person: Person) -> None:
    answers = person.answers("je veux faire ma carte grise")
    titles = [button["title"] for answer in answers for button in answer.get("buttons", [])]
    assert "Changement d'adresse sur la carte grise" in titles
    assert not any("permis" in title.lower() for title in titles), titles


def test_answering_the_domain_question_by_typing_it_lists_that_domain(person: Person) -> None:
    asked = " ".join(person.say("je veux vérifier ma demande"))
    assert "permis de conduire, ou la carte grise" in asked
    answers = person.answers("carte grise")
    titles = [button["title"] for answer in answers for button in answer.get("buttons", [])]
    assert "Duplicata de carte grise" in " | ".join(titles), "the list, not one check started"
    assert "Changement d'adresse sur la carte grise" in titles
