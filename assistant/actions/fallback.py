"""Fallback: the French "did you mean …?" step of the two-stage fallback."""

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from guichet import responses


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
