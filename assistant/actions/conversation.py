"""Conversation helpers: repeat the last answer, answer a topic for the chosen procedure,
and the French "did you mean …?" step of the two-stage fallback."""

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from assistant.actions.naming import named_in
from guichet import responses
from guichet.catalogue import get_catalogue

MESSAGE_KEYS = ("text", "buttons", "image", "custom", "attachment")


# Answers that only acknowledge a setting: "répétez" after "plus lentement" means the answer
# before, said again.
ACKNOWLEDGEMENTS = frozenset({"utter_ok_slower", "utter_ok_simpler"})


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
        elif not turn:
            dispatcher.utter_message(response="utter_nothing_to_repeat")
        for event in turn:
            data = event.get("data") or {}
            message = {key: data[key] for key in MESSAGE_KEYS if data.get(key)}
            dispatcher.utter_message(text=event.get("text"), **message)
        return []


class ActionAnswerTopic(Action):
    """Answer cost, delay or temporary-document questions for the procedure named or in hand."""

    def name(self) -> str:
        return "action_answer_topic"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name", "")
        topic = responses.TOPIC_BY_INTENT.get(intent, "cost")
        catalogue = get_catalogue()
        named = named_in(tracker.latest_message.get("text") or "", catalogue.procedure_names)
        procedure = named or tracker.get_slot(responses.PROCEDURE_SLOT)
        if procedure not in catalogue.procedures:
            dispatcher.utter_message(response=responses.topic_general(topic))
            return []
        dispatcher.utter_message(response=responses.procedure_topic(topic, procedure))
        if named and not tracker.active_loop.get("name"):
            # "et le délai ?" then answers for the same procedure. Never during a check: the
            # slot is the procedure being checked.
            return [SlotSet(responses.PROCEDURE_SLOT, named)]
        return []


class ActionDefaultAskAffirmation(Action):
    """Ask "Voulez-vous dire : … ?" in French, with the domain's words for the intent."""

    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        ranking = tracker.latest_message.get("intent_ranking") or []
        best = next((i["name"] for i in ranking if i.get("name") != "nlu_fallback"), None)
        domain_responses = domain.get("responses", {})
        # Only the best guess is offered: the next ones are often far less likely, and
        # "merci au revoir" must not become "changer l'adresse sur votre carte grise ?".
        intent = best if best and responses.subject(best) in domain_responses else None
        if intent is None:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        subject = domain_responses[responses.subject(intent)][0]["text"]
        dispatcher.utter_message(
            response="utter_affirmation_question", sujet=subject, intent=intent
        )
        return []
