"""End to end (issue 12): right prices and delays, short answers, a check that asks only what
applies and reads answers given in sentences. Through the door, the trained model, the actions."""

import re

from guichet.answers import is_short
from tests.e2e.conftest import Person

INTRO = "Vérifions votre demande"
SUMMARY = "Voici le bilan"


def joined(texts: list[str]) -> str:
    return " ".join(texts)


def test_the_price_of_a_lost_licence_is_the_licences(person: Person) -> None:
    # The carte grise duplicate first, so that it is the procedure in hand.
    carte_grise = joined(person.say("combien coûte un duplicata de carte grise ?"))
    assert "duplicata de carte grise" in carte_grise
    licence = joined(person.say("et combien coûte un duplicata de permis ?"))
    assert "25 €" in licence and "carte grise" not in licence
    again = joined(person.say("c'est combien un nouveau permis si je l'ai perdu"))
    assert "25 €" in again and "carte grise" not in again
    assert INTRO not in again


def test_a_used_car_price_is_answered_not_checked(person: Person) -> None:
    first = joined(person.say("combien coûte une carte grise"))
    assert INTRO not in first
    price = person.say("pour une voiture d'occasion")
    assert INTRO not in joined(price), "a 10-question check instead of the price"
    assert "chevaux" in joined(price) and "simulateur" in joined(price)
    assert price[-1].endswith("Voulez-vous le détail ?")
    assert all(is_short(text) for text in price)
    detail = person.say("oui")
    assert "Corse" in joined(detail) and all(is_short(text) for text in detail)


def test_a_delay_is_told_for_the_procedure_named(person: Person) -> None:
    texts = person.say("j'ai combien de temps pour déclarer la vente de ma voiture")
    assert "15 jours" in joined(texts)
    assert all(is_short(text) for text in texts)


def test_how_long_for_a_new_licence_tells_the_wait_not_a_caution(person: Person) -> None:
    # Found by hand: the answer was "une déclaration de perte ne peut pas être annulée".
    texts = person.say("combien de temps pour avoir le nouveau permis apres une perte")
    said = joined(texts)
    assert "nouveau permis après une perte" in said and "Lettre Expert" in said
    assert "annulée" not in said
    assert all(is_short(text) for text in texts)


def answer_until_summary(person: Person, first: list[str], choose) -> list[str]:  # type: ignore[no-untyped-def]
    seen, texts = list(first), first
    for _ in range(25):
        if SUMMARY in joined(texts):
            return seen
        texts = person.say(choose(texts[-1]))
        seen += texts
    raise AssertionError(f"no summary after 25 answers: {seen[-3:]}")


def test_a_lost_carte_grise_is_never_asked_for_the_carte_grise(person: Person) -> None:
    first = person.say("bonjour j'ai perdu ma carte grise je sais pas quoi faire")
    assert INTRO in joined(first)
    seen = answer_until_summary(person, first, lambda _question: "oui")
    questions = [t for t in seen if t.rstrip().endswith("?")]
    assert not [q for q in questions if q.lower().startswith("seulement si")]
    assert not [q for q in questions if "Avez-vous la carte grise du véhicule" in q]
    assert "Prêt : carte grise" not in joined(seen)
    assert "Prêt : déclaration de perte ou de vol de la carte grise" in joined(seen)


def test_address_change_asks_plain_questions_each_condition_once(person: Person) -> None:
    first = person.say("j'ai déménagé il faut que je change l'adresse sur ma carte grise")
    assert INTRO in joined(first)
    seen = answer_until_summary(person, first, lambda _question: "non")
    questions = [t for t in seen if "?" in t and SUMMARY not in t]
    assert questions and not [q for q in questions if re.match(r"(?i)seulement si", q)]
    assert len(questions) == len(set(questions)), "a question was asked twice"
    # "non" to "logé chez quelqu'un ?": the attestation d'hébergement is not asked.
    assert not [q for q in questions if "attestation d'hébergement" in q]


def test_answers_in_sentences_go_on_with_the_check(person: Person) -> None:
    first = person.say("j'ai acheté une voiture d'occasion")
    assert INTRO in joined(first)
    question = first[-1]
    for said in (
        "oui le vendeur me l'a donnée barrée",
        "non je l'ai pas encore",
        "je crois pas",
    ):
        texts = person.say(said)
        assert INTRO not in joined(texts), f"{said!r} restarted the check"
        assert texts[-1] != question, f"{said!r} got the same question again"
        question = texts[-1]
    # "je crois pas" is a doubt: never counted as ready, the rule is explained.
    assert len(texts) >= 2


def test_a_price_asked_in_sms_spelling_is_answered_not_checked(person: Person) -> None:
    said = "cb coute la carte grise pour une voiture d occasion que jai acheter a un particulier"
    texts = person.say(said)
    assert INTRO not in joined(texts)
    assert "chevaux" in joined(texts)
