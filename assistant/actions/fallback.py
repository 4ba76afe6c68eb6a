"""Fallback: the French "did you mean …?" step of the two-stage fallback."""

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from guichet import responses
from guichet.fallback import best_guesses


class ActionDefaultAskAffirmation(Action):
    """Offer the one or two likeliest intents as buttons, in the domain's words.

    Two guesses: "Je n'ai pas bien compris. Que voulez-vous ?" with a button for each, then
    "Autre chose" (asks to rephrase) and "Parler à quelqu'un". One guess: "Voulez-vous dire :
    … ?" with yes / no / a person. None the domain can name: ask to rephrase.
    """

    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        ranking = tracker.latest_message.get("intent_ranking") or []
        domain_responses = domain.get("responses", {})

        def subject_of(intent: str) -> str | None:
            variations = domain_responses.get(responses.subject(intent)) or []
            return variations[0].get("text") if variations else None

        guesses = best_guesses(ranking, lambda intent: subject_of(intent) is not None)
        if not guesses:
            dispatcher.utter_message(response="utter_ask_rephrase")
        elif len(guesses) == 1:
            dispatcher.utter_message(
                response="utter_affirmation_question",
                sujet=subject_of(guesses[0]),
                intent=guesses[0],
            )
        else:
            first, second = guesses
            dispatcher.utter_message(
                response="utter_affirmation_two_guesses",
                sujet_1=subject_of(first),
                intent_1=first,
                sujet_2=subject_of(second),
                intent_2=second,
            )
        return []
