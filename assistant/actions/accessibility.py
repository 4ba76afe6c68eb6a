"""Accessibility: "répétez" says the last real answer again; "plus simple" says it simpler.

Answers are said again by the name of their response, with the values they were filled
with: Rasa then picks each response's variation for the conversation as it is now, so after
"plus simple" (slot simple_mode) the variation conditioned on simple_mode, where the domain
has one (tests/actions/test_simple_variants.py), and on the phone the voice one.
"""

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

MESSAGE_KEYS = ("text", "buttons", "image", "custom", "attachment")


# Answers that only acknowledge a setting: "répétez" after "plus lentement" means the answer
# before, said again.
ACKNOWLEDGEMENTS = frozenset({"utter_ok_slower", "utter_ok_simpler"})
# What Rasa keeps in a bot message's metadata besides the values that filled the response.
NOT_TEMPLATE_VALUES = frozenset(
    {"utter_action", "template", "response", "channel", "condition", "id", "text"}
)


def bot_turns(events: list[dict]) -> list[list[dict]]:
    """The bot messages that answered each user message, oldest first.

    The answer to the latest user message, still being built, is not included.
    """
    turns: list[list[dict]] = []
    current: list[dict] | None = None
    for event in events:
        if event.get("event") == "user":
            if current is not None:
                turns.append(current)
            current = []
        elif event.get("event") == "bot" and current is not None:
            current.append(event)
    return turns


def last_answer_worth_repeating(events: list[dict]) -> list[dict]:
    """The latest answer, without the messages that only acknowledged a setting."""
    for turn in reversed(bot_turns(events)):
        kept = [
            e for e in turn if (e.get("metadata") or {}).get("utter_action") not in ACKNOWLEDGEMENTS
        ]
        if kept:
            return kept
    return []


class ActionRepeatLast(Action):
    """Send again what the assistant said just before "répétez"."""

    def name(self) -> str:
        return "action_repeat_last"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        turn = last_answer_worth_repeating(tracker.events)
        if tracker.active_loop.get("name") and turn:
            # Inside a form the last message is its question: the form asks it again itself.
            turn = turn[:-1]
        elif not turn and latest_intent(tracker) != "simpler":
            dispatcher.utter_message(response="utter_nothing_to_repeat")
        for event in turn:
            say_again(dispatcher, event)
        return []


def latest_intent(tracker: Tracker) -> str | None:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def say_again(dispatcher: CollectingDispatcher, event: dict) -> None:
    """Send a bot message again: by its response's name when it had one, else as it was."""
    metadata = event.get("metadata") or {}
    response = metadata.get("utter_action")
    if isinstance(response, str) and response:
        values = {
            key: value
            for key, value in metadata.items()
            if key not in NOT_TEMPLATE_VALUES and isinstance(value, (str, int, float))
        }
        dispatcher.utter_message(response=response, **values)
        return
    data = event.get("data") or {}
    message = {key: data[key] for key in MESSAGE_KEYS if data.get(key)}
    dispatcher.utter_message(text=event.get("text"), **message)
