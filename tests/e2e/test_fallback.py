"""End to end: when the NLU is unsure, the two likeliest intents, "Autre chose" and a person."""

from tests.e2e.conftest import Person

# A message that could mean following a dossier or checking a request: the NLU finds both
# about as likely and neither likely enough (0.39 and 0.39 with the model of 2026-12-03), so
# FallbackClassifier sends it to the fallback. If the NLU data moves it, pick another such
# message (asking two things at once stopped being one when delay examples were added).
UNSURE = "ma demande"
QUESTION = "Je n'ai pas bien compris. Que voulez-vous ?"


def offer(person: Person) -> list[dict]:
    answers = person.answers(UNSURE)
    assert QUESTION in [answer.get("text") for answer in answers], answers
    return [button for answer in answers for button in answer.get("buttons", [])]


def test_unsure_offers_two_guesses_then_another_thing_and_a_person(person: Person) -> None:
    buttons = offer(person)
    assert len(buttons) == 4
    assert [b["title"] for b in buttons[2:]] == ["Autre chose", "Parler à quelqu'un"]
    guesses = [b["payload"] for b in buttons[:2]]
    assert all(p.startswith("/") and "{" not in p for p in guesses)
    assert guesses[0] != guesses[1]
    # A guess chosen is answered as if the person had said it: no second "did you mean".
    answer = " ".join(person.say(guesses[1]))
    assert "pas bien compris" not in answer and answer


def test_another_thing_asks_to_rephrase(person: Person) -> None:
    buttons = offer(person)
    assert "autrement" in " ".join(person.say(buttons[2]["payload"]))


def test_the_person_button_gives_the_human_routes(person: Person) -> None:
    buttons = offer(person)
    assert "34 00" in " ".join(person.say(buttons[3]["payload"]))
