"""The first screen, people without digital tools and scam victims, through the real chat door.

The messages are people's own words, not the training examples.
"""

import pytest

from tests.e2e.conftest import Person, RunningStack

WITHOUT_DIGITAL_TOOLS = [
    "j'ai pas d'ordinateur… juste un vieux téléphone",
    "j'ai pas d'email",
    "pas de smartphone",
    "je ne sais pas me servir d'internet",
    "je suis trop vieille pour ces machines",
    "moi l'ordinateur j'en ai pas et je sais pas m'en servir",
    "chez moi ya pas internet",
    "Je n'ai ni ordinateur ni adresse électronique, comment voulez-vous que je fasse ma carte "
    "grise ?",
]
SCAM_VICTIMS = [
    "j'ai déjà cliqué et donné ma carte bleue",
    "j'ai payé 50 euros sur un site pour ma carte grise c'était une arnaque",
    "g donné ma cb sur le lien du sms pour mon permis",
    "on m'a prélevé 80 euros pour une carte grise jamais reçue, c'était un faux site",
]


def texts_of(answers: list[dict]) -> str:
    return " ".join(answer.get("text", "") for answer in answers)


def payloads_of(answers: list[dict]) -> set[str]:
    return {button["payload"] for answer in answers for button in answer.get("buttons", [])}


def test_the_door_serves_the_welcome_and_its_choices_work(stack: RunningStack, person: Person):
    welcome = person.browser.get(f"http://127.0.0.1:{stack.ports.api}/chat/welcome").json()

    assert "Bonjour" in welcome[0]["text"] and "34 00" in texts_of(welcome)
    assert payloads_of(welcome) == {"/check_status", "/prepare_request", "/ask_human"}
    # The first choice, as the page sends it: the assistant asks for the dossier's number.
    assert "numéro" in texts_of(person.answers("/check_status"))


@pytest.mark.parametrize("message", WITHOUT_DIGITAL_TOOLS)
def test_people_without_digital_tools_get_the_human_routes_first(people, message):
    answers = people().answers(message)

    first = answers[0]["text"]
    assert "France Services" in first and "point numérique" in first, answers
    assert "34 00" in texts_of(answers)
    # Not the capabilities menu: the next step is offered after the human routes.
    assert "/ask_human" not in payloads_of(answers)
    assert "/prepare_request" in payloads_of(answers)


def test_an_84_year_old_first_message_gets_a_welcoming_short_answer(person: Person):
    answers = person.answers(
        "bonjour je suis âgée de 84 ans et je ne comprend rien a internet on m'a dit de "
        "refaire mon permis"
    )

    # Sentences first, each short, then the next step as a choice: not a bare button list.
    assert all(answer.get("text") for answer in answers), answers
    assert all(len(answer["text"]) <= 300 for answer in answers), answers
    assert "France Services" in answers[0]["text"] and "34 00" in texts_of(answers)
    assert payloads_of(answers) >= {"/prepare_request"}
    # The next step works: the check before sending starts.
    assert texts_of(person.answers("/prepare_request"))


@pytest.mark.parametrize("message", SCAM_VICTIMS)
def test_scam_victims_are_told_what_to_do_now(people, message):
    answers = people().answers(message)
    told = texts_of(answers)

    # First the card (the bank, the interbank opposition line), then the reports, then the
    # official site.
    assert "opposition" in answers[0]["text"] and "0 892 705 705" in answers[0]["text"]
    assert "Perceval" in told and "internet-signalement.gouv.fr" in told
    assert "preuves" in told and "ants.gouv.fr" in told
    assert all(len(answer["text"]) <= 300 for answer in answers), answers


def test_a_question_about_a_site_still_gets_the_general_warning(people):
    victim = texts_of(people().answers(SCAM_VICTIMS[0]))
    question = texts_of(people().answers("ce site qui demande des frais, c'est le vrai ?"))

    assert "ants.gouv.fr" in question
    assert "opposition" not in question and question != victim


def test_naming_both_documents_is_not_taken_for_a_scam(person: Person) -> None:
    # Found by hand: "carte" pulled this towards the scam victim's answer (card opposition).
    said = " ".join(person.say("mon permis et ma carte grise"))
    assert "opposition" not in said and "Perceval" not in said
