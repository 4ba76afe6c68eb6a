"""The gateway's sentences come from the domain; menus from the answer's buttons."""

import pytest

from voice.prompts import (
    NAMES,
    PromptError,
    VoicePrompts,
    keypad_menu,
    said_later,
    spoken_title,
)
from voice.stages import Button, Expectation

PROMPTS = VoicePrompts.load()


def test_every_sentence_the_gateway_needs_is_in_the_domain() -> None:
    for name in NAMES:
        if name != "utter_voice_menu_item":
            assert PROMPTS.text(name)
    with pytest.raises(PromptError, match="digit"):
        PROMPTS.text("utter_voice_menu_item", title="oui")
    with pytest.raises(PromptError, match="missing"):
        VoicePrompts({}, {})


def test_a_menu_puts_a_person_on_0_and_the_others_on_1_2_in_order() -> None:
    buttons = (
        Button("Parler à quelqu'un", "/ask_human"),
        Button("Où en est mon dossier ?", "/check_status"),
        Button("ANTS : mon compte", "/login_problem"),
    )
    assert {key: b.payload for key, b in keypad_menu(buttons).items()} == {
        "0": "/ask_human",
        "1": "/check_status",
        "2": "/login_problem",
    }
    assert PROMPTS.menu_lines(buttons) == [
        "Pour où en est mon dossier, tapez 1.",
        "Pour ANTS : mon compte, tapez 2.",
        "Pour parler à quelqu'un, tapez 0.",
    ]
    assert spoken_title("Oui") == "oui"


def test_the_fixed_sentences_are_known_before_any_call() -> None:
    fixed = PROMPTS.fixed_texts()
    assert PROMPTS.text("utter_voice_greeting") in fixed
    assert "Pour parler à une personne, tapez 0." in fixed
    assert not any("{" in text for text in fixed)
    assert PROMPTS.hint(Expectation.FREE, ()) == []


def test_the_questions_and_menus_said_later_are_known_too() -> None:
    later = said_later(PROMPTS)
    # The voice variation of a question, not its text one; the menus of the answers' buttons.
    assert "Votre date de naissance est le" not in " ".join(later)  # a value: not fixed
    assert "Quel est le numéro de votre demande ? Il est écrit sur le récépissé de l'ANTS." in later
    assert "Pour redonner le numéro, tapez 1." in later
    assert not any("{" in text for text in later)
