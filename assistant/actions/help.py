"""Help: cost, delay and temporary-document answers for the procedure named or in hand."""

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from assistant.actions.naming import named_in
from guichet import responses
from guichet.catalogue import get_catalogue


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
