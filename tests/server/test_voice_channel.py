"""The voice channel: voice variations, keypad buttons, what comes next, and what is kept.

Rasa's own pieces on the real domain: its response generator, its utter actions, its
in-memory tracker store. Only the turn's policy is played by the test (which actions run).
"""

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rasa.core.actions.action import ActionBotResponse, create_bot_utterance
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActiveLoop, SlotSet, UserUttered

from assistant.voice_channel import (
    EXPECTATION_BY_SLOT,
    VoiceInput,
    allowed_metadata,
    expectation_of,
    keyed_message,
)
from voice.stages import Expectation

DOMAIN_DIR = Path(__file__).resolve().parents[2] / "assistant" / "domain"


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(DOMAIN_DIR)


class Agent:
    """What the channel reads of Rasa's agent: the domain, the generator, the store."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain
        self.nlg = TemplatedNaturalLanguageGenerator(domain.responses)
        self.tracker_store = InMemoryTrackerStore(domain)
        self.received: list[Any] = []


def turn(agent: Agent, *responses: str | tuple[str, dict], form: tuple[str, str] | None = None):
    """A turn that utters `responses` (a name, or a name and the values an action gives it),
    with `form` (name, requested slot) active afterwards, as Rasa's processor would."""

    async def on_new_message(message: Any) -> None:
        agent.received.append(message)
        tracker = await agent.tracker_store.get_or_create_tracker(message.sender_id)
        tracker.update(
            UserUttered(message.text, input_channel=message.input_channel,
                        metadata=message.metadata)
        )  # fmt: skip
        for response in responses:
            name, values = response if isinstance(response, tuple) else (response, None)
            if values is None:
                events = await ActionBotResponse(name).run(
                    message.output_channel, agent.nlg, tracker, agent.domain
                )
            else:  # as a custom action's dispatcher.utter_message(response=…, **values)
                draft = await agent.nlg.generate(
                    name, tracker, message.output_channel.name(), **values
                )
                events = [create_bot_utterance({**draft, "utter_action": name, **values})]
            for event in events:
                tracker.update(event)
                await message.output_channel.send_response(message.sender_id, event.message())
        if form:
            tracker.update(ActiveLoop(form[0]))
            tracker.update(SlotSet("requested_slot", form[1]))
        await agent.tracker_store.save(tracker)

    return on_new_message


def send(
    agent: Agent, on_new_message: Callable, text: str, **body: Any
) -> tuple[dict[str, Any], int]:
    channel = VoiceInput(token="voice-token")
    message = {"sender": "call-1", "message": text, **body}
    return asyncio.run(channel.handle(agent, message, on_new_message))


def test_the_voice_variation_is_said_and_the_keypad_gets_the_text_variations_buttons(
    domain: Domain,
) -> None:
    agent = Agent(domain)
    answer, status = send(agent, turn(agent, "utter_help"), "aide")
    assert status == 200
    [message] = answer["messages"]
    voice = next(v["text"] for v in domain.responses["utter_help"] if v.get("channel") == "voice")
    assert message["text"] == voice
    assert [b["payload"] for b in message["buttons"]] == [
        "/check_status",
        "/prepare_request",
        "/ask_human",
    ]
    assert answer["expects"] == "menu"


def test_a_yes_no_question_expects_yes_or_no(domain: Domain) -> None:
    agent = Agent(domain)
    answer, _ = send(agent, turn(agent, "utter_offer_human_for_stuck_dossier"), "bon")
    assert answer["messages"][0]["text"].endswith("Dites oui ou non.")
    assert answer["expects"] == "yes_no"
    assert answer["slow"] is False


def test_a_slower_voice_asked_is_said(domain: Domain) -> None:
    agent = Agent(domain)
    tracker = asyncio.run(agent.tracker_store.get_or_create_tracker("call-1"))
    tracker.update(SlotSet("slow_speech", True))
    asyncio.run(agent.tracker_store.save(tracker))
    answer, _ = send(agent, turn(agent, "utter_ok_slower"), "plus lentement")
    assert answer["slow"] is True
    assert "plus lentement" in answer["messages"][0]["text"]


def test_the_forms_question_says_what_to_key(domain: Domain) -> None:
    agent = Agent(domain)
    form = "dossier_status_form"
    number = turn(agent, "utter_ask_dossier_status_form_numero_dossier",
                  form=(form, "numero_dossier"))  # fmt: skip
    assert send(agent, number, "où en est mon dossier")[0]["expects"] == "digits"
    birth = turn(agent, "utter_ask_dossier_status_form_date_naissance",
                 form=(form, "date_naissance"))  # fmt: skip
    assert send(agent, birth, "2611000002", keyed=True)[0]["expects"] == "date"
    # The form asks the date: the keyed number went as it was keyed.
    assert agent.received[-1].text == "2611000002"


def test_buttons_filled_by_an_action_are_filled_for_the_keypad_too(domain: Domain) -> None:
    agent = Agent(domain)
    values = {"sujet": "savoir où en est votre dossier", "intent": "check_status"}
    answer, _ = send(agent, turn(agent, ("utter_affirmation_question", values)), "mon dosier")
    [message] = answer["messages"]
    assert "Dites oui ou non" in message["text"]
    assert "savoir où en est votre dossier" in message["text"]
    assert message["buttons"][0] == {"title": "Oui", "payload": "/check_status"}
    assert answer["expects"] == "menu"


def test_a_number_keyed_outside_the_form_starts_the_status_check(domain: Domain) -> None:
    agent = Agent(domain)
    send(agent, turn(agent, "utter_greet"), "2611000002", keyed=True)
    text = agent.received[-1].text
    assert text.startswith("/check_status{")
    assert json.loads(text.removeprefix("/check_status")) == {"numero_dossier": "2611000002"}
    # Spoken, the same digits are left to the NLU.
    send(agent, turn(agent, "utter_greet"), "2611000002")
    assert agent.received[-1].text == "2611000002"


def test_only_the_domains_payloads_pass(domain: Domain) -> None:
    agent = Agent(domain)
    send(agent, turn(agent, "utter_ask_human"), "/ask_human")
    assert agent.received[-1].text == "/ask_human"
    send(agent, turn(agent, "utter_greet"), '/restart{"x": 1}')
    assert not agent.received[-1].text.startswith("/")


def test_the_tracker_keeps_the_door_and_the_masked_caller_only(domain: Domain) -> None:
    agent = Agent(domain)
    metadata = {"door": "phone", "caller": "06 •• •• •• 78", "asker": "ab" * 16, "x": "y"}
    send(agent, turn(agent, "utter_greet"), "bonjour", metadata=metadata)
    tracker = asyncio.run(agent.tracker_store.retrieve("call-1"))
    [said] = [e for e in tracker.events if isinstance(e, UserUttered)]
    assert said.input_channel == "voice"
    assert said.metadata == {"door": "phone", "caller": "06 •• •• •• 78", "asker": "ab" * 16}
    assert allowed_metadata({"caller": "+33 6 12 34 56 78", "door": "fax"}) == {}
    assert allowed_metadata("not a dict") == {}


def test_refusals(domain: Domain) -> None:
    agent = Agent(domain)
    assert send(agent, turn(agent), "")[1] == 200
    channel = VoiceInput(token="t")
    assert asyncio.run(channel.handle(agent, {"message": "x"}, turn(agent)))[1] == 400

    async def broken(_message: Any) -> None:
        raise RuntimeError("le numéro 2611000002")

    answer, status = asyncio.run(channel.handle(agent, {"sender": "c", "message": "x"}, broken))
    assert (answer, status) == ({"error": "message failed"}, 500)
    with pytest.raises(ValueError, match="GUICHET_VOICE_TOKEN"):
        VoiceInput.from_credentials({"token": ""})


def test_the_expectation_mapping_names_the_forms_slots(domain: Domain) -> None:
    required = domain.forms["dossier_status_form"]["required_slots"]
    assert set(EXPECTATION_BY_SLOT) <= set(required)
    assert expectation_of(None, []) is Expectation.FREE
    yes_no_maybe = [{"payload": p} for p in ("/affirm", "/deny", "/dont_know")]
    assert expectation_of(None, yes_no_maybe) is Expectation.MENU
    assert expectation_of("numero_dossier", yes_no_maybe) is Expectation.DIGITS
    assert keyed_message("12", None) == "12"
    assert keyed_message("04071961", "date_naissance") == "04071961"


def test_an_erasure_asked_is_said_to_the_gateway(domain: Domain) -> None:
    agent = Agent(domain)
    utter = turn(agent, "utter_conversation_forgotten")

    async def forgets(message: Any) -> None:
        await utter(message)
        marker = {"custom": {"guichet": {"forget": True}}}  # assistant/actions/privacy.py
        await message.output_channel.send_response(message.sender_id, marker)

    answer, _ = send(agent, forgets, "effacez ma conversation")
    assert answer["forget"] is True
    assert len(answer["messages"]) == 1  # the marker is not said
    assert send(agent, turn(agent, "utter_greet"), "bonjour")[0]["forget"] is False
