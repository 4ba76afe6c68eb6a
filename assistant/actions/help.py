"""Help: cost, delay and temporary-document answers for the procedure named or in hand.

Each answer is short: the first fact, with "Voulez-vous le détail ?" when there are more,
told one per message by action_tell_detail.
"""

import re

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from assistant.actions.naming import comparable, named_in
from guichet import responses
from guichet.answers import topic_facts
from guichet.catalogue import Catalogue, get_catalogue

# A price or delay question in the words, whatever intent the NLU saw ("cb coute la carte
# grise pour une voiture d occasion que jai acheter"): answered, not checked.
_DEADLINE_WORDS = re.compile(
    r"\b(combien de temps|delais?|dans combien|quel temps|avant quand|jusqu a quand)\b"
)
_COST_WORDS = re.compile(r"\b(combien|cb|couter?|coute|coutent|prix|tarifs?|euros?|payer)\b")


_COUNT_WORDS = re.compile(r"\bcombien de (pieces?|papiers?|documents?|justificatifs?|questions?)\b")


def topic_asked(text: str) -> str | None:
    """ "deadline" or "cost" when the message asks it in words, else None."""
    said = " ".join(re.sub(r"[^a-z0-9]+", " ", comparable(text)).split())
    if _DEADLINE_WORDS.search(said):
        return "deadline"
    # "combien de papiers ?" asks for the check, not a price.
    if _COST_WORDS.search(said) and not _COUNT_WORDS.search(said):
        return "cost"
    return None


def detail_parts(topic: str, procedure: str) -> int:
    """How many messages the detail on `topic` for `procedure` has (0: nothing more)."""
    return max(len(topic_facts(get_catalogue().data, topic, procedure)) - 1, 0)


def offer_detail(topic: str, procedure: str) -> list[EventType]:
    """Remember the detail the short answer offered, or that none was."""
    offered = f"{topic}:{procedure}" if detail_parts(topic, procedure) else None
    return [SlotSet(responses.DETAIL_SLOT, offered)]


def domain_named(tracker: Tracker) -> str | None:
    """The domain ("permis_de_conduire", "carte_grise") the message names, when only one."""
    found = {
        str(e.get("value"))
        for e in tracker.latest_message.get("entities") or []
        if e.get("entity") == "domaine" and e.get("value")
    }
    return found.pop() if len(found) == 1 else None


def procedure_meant(tracker: Tracker, catalogue: Catalogue) -> tuple[str | None, bool]:
    """(the procedure the question is about, whether the message named it).

    A procedure named in the question wins over the one in hand; the one in hand is kept only
    when the question names no other domain ("combien coûte le permis ?" after a carte grise
    question is not about the carte grise).
    """
    named = named_in(tracker.latest_message.get("text") or "", catalogue.procedure_names)
    if named:
        return named, True
    in_hand = catalogue.procedures.get(tracker.get_slot(responses.PROCEDURE_SLOT) or "")
    domain = domain_named(tracker)
    if in_hand is None or (domain and domain != in_hand.domain):
        return None, False
    return in_hand.id, False


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
        procedure, named = procedure_meant(tracker, catalogue)
        in_check = bool(tracker.active_loop.get("name"))
        if procedure is None:
            domain_said = domain_named(tracker)
            if domain_said and topic in responses.INTENT_BY_TOPIC:
                # "combien coûte une carte grise ?": which one, as buttons (or typed).
                dispatcher.utter_message(response=responses.topic_choose(topic, domain_said))
            else:
                dispatcher.utter_message(response=responses.topic_general(topic))
            # The next message that names a procedure gets this answer, not a check.
            pending = None if in_check else topic
            return [
                SlotSet(responses.PENDING_TOPIC_SLOT, pending),
                SlotSet(responses.DETAIL_SLOT, None),
            ]
        dispatcher.utter_message(response=responses.procedure_topic(topic, procedure))
        # "un nouveau permis si je l'ai perdu" just after: the same question, for that one.
        pending = None if in_check else topic
        events = [*offer_detail(topic, procedure), SlotSet(responses.PENDING_TOPIC_SLOT, pending)]
        if named and not in_check:
            # "et le délai ?" then answers for the same procedure. Never during a check: the
            # slot is the procedure being checked.
            events.append(SlotSet(responses.PROCEDURE_SLOT, procedure))
        return events


class ActionTellDetail(Action):
    """After "Voulez-vous le détail ?": the other facts, one message each."""

    def name(self) -> str:
        return "action_tell_detail"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        offered = tracker.get_slot(responses.DETAIL_SLOT) or ""
        topic, _, procedure = offered.partition(":")
        parts = detail_parts(topic, procedure) if topic in responses.TOPICS else 0
        if not parts:
            dispatcher.utter_message(response="utter_anything_else")
            return [SlotSet(responses.DETAIL_SLOT, None)]
        for part in range(1, parts + 1):
            dispatcher.utter_message(
                response=responses.procedure_topic_detail(topic, procedure, part)
            )
        return [SlotSet(responses.DETAIL_SLOT, None)]
