"""Conversation helpers: repeat the last answer, answer a topic for the chosen procedure,
and the French "did you mean …?" step of the two-stage fallback."""

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from assistant.actions.naming import named_in
from assistant.actions.procedures import get_catalogue

# What a question is about, by intent: the generated domain has one response per procedure.
TOPICS = {"fees_question": "cost", "deadline_question": "deadline", "urgent_case": "temporary"}
MESSAGE_KEYS = ("text", "buttons", "image", "custom", "attachment")


def last_bot_turn(events: list[dict]) -> list[dict]:
    """The bot messages sent between the previous user message and the latest one."""
    user_messages_seen = 0
    turn: list[dict] = []
    for event in reversed(events):
        if event.get("event") == "user":
            user_messages_seen += 1
            if user_messages_seen == 2:
                break
        elif event.get("event") == "bot" and user_messages_seen == 1:
            turn.append(event)
    return list(reversed(turn))


class ActionRepeatLast(Action):
    """Send again what the assistant said just before "répétez"."""

    def name(self) -> str:
        return "action_repeat_last"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        turn = last_bot_turn(tracker.events)
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
        topic = TOPICS.get(intent, "cost")
        catalogue = get_catalogue()
        named = named_in(tracker.latest_message.get("text") or "", catalogue.procedure_names)
        procedure = named or tracker.get_slot("demarche")
        if procedure not in catalogue.procedures:
            dispatcher.utter_message(response=f"utter_{topic}_general")
            return []
        dispatcher.utter_message(response=f"utter_procedure_{topic}_{procedure}")
        if named and not tracker.active_loop.get("name"):
            # "et le délai ?" then answers for the same procedure. Never during a check: the
            # slot is the procedure being checked.
            return [SlotSet("demarche", named)]
        return []


class ActionDefaultAskAffirmation(Action):
    """Ask "Voulez-vous dire : … ?" in French, with the domain's words for the intent."""

    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        ranking = tracker.latest_message.get("intent_ranking") or []
        candidates = [i["name"] for i in ranking if i.get("name") != "nlu_fallback"]
        responses = domain.get("responses", {})
        intent = next((name for name in candidates if f"utter_subject_{name}" in responses), None)
        if intent is None:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        subject = responses[f"utter_subject_{intent}"][0]["text"]
        dispatcher.utter_message(
            response="utter_affirmation_question", sujet=subject, intent=intent
        )
        return []
