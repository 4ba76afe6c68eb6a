"""End to end: checking a dossier through the real API, action server and Rasa server."""

from tests.e2e.conftest import Person


def converse(door_url: str, messages: list[str]) -> list[str]:
    """Hold one conversation; return the texts of the last answer."""
    with Person(door_url) as person:
        return person.conversation(messages)


def test_greeting(door_url: str) -> None:
    assert "Guichet" in " ".join(converse(door_url, ["Bonjour"]))


def test_incomplete_dossier_names_the_proof_of_address(door_url: str) -> None:
    answer = " ".join(
        converse(door_url, ["Bonjour", "Où en est mon dossier ?", "2611000002", "04/07/1961"])
    )
    assert "justificatif de domicile" in answer
    assert "incomplète" in answer


def test_refused_dossier_names_the_roadworthiness_test(door_url: str) -> None:
    answer = " ".join(
        converse(door_url, ["Bonjour", "Où en est mon dossier ?", "2611000006", "02/09/1940"])
    )
    assert "contrôle technique" in answer
    assert "refusée" in answer


def test_dossier_under_review(door_url: str) -> None:
    answer = " ".join(
        converse(door_url, ["Bonjour", "Où en est mon dossier ?", "2611000001", "12/03/1948"])
    )
    assert "en cours d'instruction" in answer


def test_wrong_birth_date_reveals_nothing(door_url: str) -> None:
    wrong = converse(door_url, ["Bonjour", "Où en est mon dossier ?", "2611000002", "05/07/1961"])
    unknown = converse(door_url, ["Bonjour", "Où en est mon dossier ?", "9911000002", "04/07/1961"])
    assert wrong == unknown
    text = " ".join(wrong)
    assert "Je ne trouve pas" in text
    assert "justificatif" not in text and "renouvellement" not in text


def test_number_in_the_first_sentence_and_a_date_in_words(door_url: str) -> None:
    answer = " ".join(converse(door_url, ["ou en e mon dosier 26 11 000 006", "2 septembre 1940"]))
    assert "contrôle technique" in answer


def test_invalid_answers_are_explained_then_accepted(door_url: str) -> None:
    sender_messages = ["suivi de ma demande de permis", "hein", "2611000001", "le 12", "12031948"]
    answer = " ".join(converse(door_url, sender_messages))
    assert "en cours d'instruction" in answer


def test_a_licence_number_given_for_the_request_number_is_explained(person: Person) -> None:
    person.say("Où en est mon dossier ?")
    refused = " ".join(person.say("mon numéro NEPH est 120575200123"))
    assert "NEPH" in refused and "récépissé" in refused
    assert "en cours d'instruction" in " ".join(person.conversation(["2611000001", "12/03/1948"]))


def test_stuck_dossier_apologises_tells_the_usual_delay_and_a_yes_reaches_a_person(
    person: Person,
) -> None:
    person.say("Où en est mon dossier ?")
    person.say("2611000004")
    answer = " ".join(person.say("15/01/1999"))
    assert "désolés" in answer
    assert "En général, cette étape prend moins de 30 jours" in answer
    assert answer.endswith("Voulez-vous qu'une personne regarde votre dossier ?")
    assert "34 00" in " ".join(person.say("oui"))


def test_a_question_naming_its_procedure_is_answered_for_it_and_followed_up(
    person: Person,
) -> None:
    cost = " ".join(person.say("combien coute la carte grise d'une voiture d'occasion"))
    assert "Le prix pour « carte grise d'un véhicule d'occasion »" in cost
    delay = " ".join(person.say("et le délai ?"))
    assert "Les délais pour « carte grise d'un véhicule d'occasion »" in delay


def test_repeat_after_slower_says_the_answer_again(person: Person) -> None:
    person.say("Où en est mon dossier ?")
    person.say("2611000001")
    status = person.say("12/03/1948")
    person.say("plus lentement")
    assert person.say("répétez") == status


def test_thanks_and_goodbye_together_end_the_conversation(person: Person) -> None:
    person.say("bonjour")
    assert "Au revoir" in " ".join(person.say("merci au revoir"))
