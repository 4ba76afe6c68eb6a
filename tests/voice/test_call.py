"""The call loop: greeting, keypad menus and entries, barge-in, silences, a slower voice.

The sentences are the domain's (voice/prompts.py on assistant/domain); the line, the voice,
the assistant and the recogniser are the doubles of tests/voice/doubles.py.
"""

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from tests.voice.doubles import Assistant, Ear, Line, NoEar, Reply, Voice
from voice.call import Call, CallSettings
from voice.prompts import VoicePrompts
from voice.stages import BotMessage, Button, Expectation

PROMPTS = VoicePrompts.load()
FAST = CallSettings(silence_seconds=5, key_pause_seconds=0.05)
MENU = (
    Button("Redonner le numéro", "/give_number_again"),
    Button("Parler à quelqu'un", "/ask_human"),
    Button("Autre chose", "/help"),
)


async def until(condition: Callable[[], bool], seconds: float = 3) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


Scenario = Callable[[Line, Assistant], Awaitable[None]]


def run_call(
    scenario: Scenario,
    reply: Reply | None = None,
    *,
    ear: object | None = None,
    settings: CallSettings = FAST,
    play_seconds: float = 0.0,
) -> tuple[Line, Assistant, Voice, Call]:
    async def main() -> tuple[Line, Assistant, Voice, Call]:
        line, assistant, voice = Line(play_seconds), Assistant(reply), Voice()
        call = Call(line, assistant, voice, PROMPTS, ear or Ear(), settings)  # type: ignore[arg-type]
        running = asyncio.create_task(call.run())
        await scenario(line, assistant)
        line.leave()
        await asyncio.wait_for(running, 5)
        return line, assistant, voice, call

    return asyncio.run(main())


def greeted(line: Line) -> Callable[[], bool]:
    return lambda: any("tapez 0" in text for text in line.heard)


def test_the_greeting_offers_the_welcome_choices_and_a_person_on_0() -> None:
    async def scenario(line: Line, _assistant: Assistant) -> None:
        await until(greeted(line))

    line, *_ = run_call(scenario)
    assert line.heard == [
        PROMPTS.text("utter_voice_greeting"),
        "Pour suivre mon dossier, tapez 1.",
        "Pour vérifier ma demande avant l'envoi, tapez 2.",
        "Pour parler à une personne, tapez 0.",
    ]


def test_without_a_recogniser_the_greeting_says_keypad_only() -> None:
    async def scenario(line: Line, _assistant: Assistant) -> None:
        await until(greeted(line))

    line, *_ = run_call(scenario, ear=NoEar())
    assert PROMPTS.text("utter_voice_keypad_only") in line.heard


def status_check(text: str, keyed: bool) -> list[BotMessage]:
    """The assistant's side of a status check: the number, then the date."""
    if text == "2611000002":
        return [BotMessage("Quelle est votre date de naissance ?", expectation=Expectation.DATE)]
    if text == "04071961":
        return [BotMessage("Pièce demandée : justificatif de domicile.")]
    return [BotMessage("Quel est le numéro ?", expectation=Expectation.DIGITS)]


def test_a_number_then_a_date_keyed_with_hash_are_sent_as_keyed_text() -> None:
    async def scenario(line: Line, assistant: Assistant) -> None:
        await until(greeted(line))
        line.press("2611000002#")
        await until(lambda: PROMPTS.text("utter_voice_keypad_date") in line.heard)
        line.press("0407*04071961#")
        await until(lambda: "Pièce demandée : justificatif de domicile." in line.heard)

    _, assistant, *_ = run_call(scenario, status_check)
    assert assistant.received == [("2611000002", True), ("04071961", True)]


def test_menu_keys_send_the_buttons_payloads_and_0_reaches_a_person() -> None:
    def reply(text: str, keyed: bool) -> list[BotMessage]:
        return [BotMessage("Je ne trouve pas.", MENU, Expectation.MENU)]

    async def scenario(line: Line, assistant: Assistant) -> None:
        await until(greeted(line))
        line.press("1")
        await until(lambda: len(assistant.received) == 1)
        await until(lambda: "Pour parler à quelqu'un, tapez 0." in line.heard)
        line.press("2")
        await until(lambda: len(assistant.received) == 2)
        line.press("7")
        await until(lambda: PROMPTS.text("utter_voice_wrong_key") in line.heard)
        line.press("0")
        await until(lambda: len(assistant.received) == 3)

    line, assistant, *_ = run_call(scenario, reply)
    assert [text for text, _keyed in assistant.received] == [
        "/check_status",
        "/help",
        "/ask_human",
    ]
    assert "Pour redonner le numéro, tapez 1." in line.heard
    assert "Pour autre chose, tapez 2." in line.heard


def test_yes_no_questions_take_1_and_2() -> None:
    def reply(text: str, keyed: bool) -> list[BotMessage]:
        return [BotMessage("Voulez-vous qu'une personne regarde ?", (), Expectation.YES_NO)]

    async def scenario(line: Line, assistant: Assistant) -> None:
        await until(greeted(line))
        line.press("1")
        await until(lambda: PROMPTS.text("utter_voice_yes_no") in line.heard)
        line.press("2")
        await until(lambda: len(assistant.received) == 2)

    _, assistant, *_ = run_call(scenario, reply)
    assert assistant.received[1] == ("/deny", False)


def test_0_hash_during_an_entry_reaches_a_person() -> None:
    async def scenario(line: Line, assistant: Assistant) -> None:
        await until(greeted(line))
        line.press("1")
        await until(lambda: "Quel est le numéro ?" in line.heard)
        line.press("0#")
        await until(lambda: len(assistant.received) == 2)

    _, assistant, *_ = run_call(scenario, status_check)
    assert assistant.received[1] == ("/ask_human", False)


def test_a_key_or_speech_stops_the_assistant_mid_sentence() -> None:
    async def scenario(line: Line, assistant: Assistant) -> None:
        await asyncio.sleep(0.1)
        line.press("1")
        await until(lambda: len(assistant.received) == 1)
        await asyncio.sleep(0.1)
        line.speak(b"start")
        await until(lambda: len(line.cut) == 2)

    line, *_ = run_call(scenario, play_seconds=10)
    assert line.cut == [PROMPTS.text("utter_voice_greeting"), "réponse à /check_status"]
    assert line.heard == []


def test_silences_are_prompted_twice_then_the_call_ends_politely() -> None:
    async def scenario(line: Line, _assistant: Assistant) -> None:
        await until(lambda: line.hung_up)

    settings = CallSettings(silence_seconds=0.05, key_pause_seconds=0.01)
    line, *_ = run_call(scenario, settings=settings)
    said = [t for t in line.heard if t.startswith(("Je ne vous", "Je n'entends"))]
    reprompt, goodbye = PROMPTS.text("utter_voice_reprompt"), PROMPTS.text("utter_voice_goodbye")
    assert said == [reprompt, reprompt, goodbye]
    assert line.heard[-1] == goodbye


def test_speech_is_sent_and_a_doubtful_utterance_is_asked_again() -> None:
    async def scenario(line: Line, assistant: Assistant) -> None:
        await until(greeted(line))
        line.speak(b"said:plus lentement:0.9")
        await until(lambda: len(assistant.received) == 1)
        line.speak(b"said:blabla:0.1")
        await until(lambda: PROMPTS.text("utter_voice_not_heard") in line.heard)
        line.press("0")
        await until(lambda: len(assistant.received) == 2)

    def reply(text: str, keyed: bool) -> list[BotMessage]:
        return [BotMessage("D'accord.", slow=text == "plus lentement")]

    _line, assistant, voice, call = run_call(scenario, reply)
    assert [text for text, _ in assistant.received] == ["plus lentement", "/ask_human"]
    # Slower from the answer to "plus lentement" on, for the rest of the call.
    assert voice.slow_texts[0] == "D'accord."
    assert PROMPTS.text("utter_voice_not_heard") in voice.slow_texts
    assert call.slow


def test_the_recogniser_is_told_what_comes_next() -> None:
    ear = Ear()

    async def scenario(line: Line, assistant: Assistant) -> None:
        await until(greeted(line))
        line.press("1")
        await until(lambda: "Quel est le numéro ?" in line.heard)

    run_call(scenario, status_check, ear=ear)
    assert ear.expected == [Expectation.MENU, Expectation.DIGITS]
    assert ear.phrases[0] == ["suivre mon dossier", "vérifier ma demande avant l'envoi",
                              "parler à une personne"]  # fmt: skip
    assert ear.closed


@pytest.mark.parametrize("keys", ["42#", "26"])
def test_several_keys_without_hash_in_a_menu_are_not_a_choice(keys: str) -> None:
    async def scenario(line: Line, assistant: Assistant) -> None:
        await until(greeted(line))
        line.press(keys)
        await asyncio.sleep(0.2)

    _, assistant, *_ = run_call(scenario)
    assert assistant.received == ([("42", True)] if keys.endswith("#") else [])


def test_a_voice_that_fails_is_logged_and_the_call_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class BrokenVoice(Voice):
        async def synthesize(self, text: str, *, slow: bool = False) -> bytes:
            raise RuntimeError("espeak-ng is gone")

    async def main() -> Assistant:
        line, assistant = Line(), Assistant()
        call = Call(line, assistant, BrokenVoice(), PROMPTS, Ear(), FAST)
        running = asyncio.create_task(call.run())
        await asyncio.sleep(0.05)
        line.press("0")
        await until(lambda: len(assistant.received) == 1)
        line.leave()
        await asyncio.wait_for(running, 5)
        return assistant

    assert asyncio.run(main()).received == [("/ask_human", False)]
    assert "speaking failed" in caplog.text
