"""The check before sending: name the procedure, ask document by document, summarise, save."""

import re

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from assistant.actions.api_client import ApiUnavailable, DossierApiClient
from assistant.actions.checklist_logic import (
    Summary,
    known_conditions,
    previous_question,
    question_slots,
    read_answer,
    summarise,
)
from assistant.actions.help import offer_detail, topic_asked
from assistant.actions.naming import comparable, named_in
from guichet import responses
from guichet.catalogue import Catalogue, Procedure, get_catalogue
from guichet.responses import (
    ANSWERS,
    CHECKLIST_FORM,
    DETAIL_SLOT,
    DONT_KNOW,
    PENDING_TOPIC_SLOT,
    PROCEDURE_SLOT,
    condition_slot,
    document_of,
    piece_slot,
)

REQUESTED_SLOT = "requested_slot"


def current_procedure(tracker: Tracker, catalogue: Catalogue) -> Procedure | None:
    return catalogue.procedures.get(tracker.get_slot(PROCEDURE_SLOT) or "")


def forget_answers(tracker: Tracker, catalogue: Catalogue) -> list[EventType]:
    """Clear every answer given so far (documents and conditions): a new check starts blank."""
    documents = {d for p in catalogue.procedures.values() for d in p.documents}
    slots = sorted(piece_slot(d) for d in documents)
    slots += sorted(condition_slot(c.id) for c in catalogue.conditions.values() if c.question)
    return [SlotSet(slot, None) for slot in slots if tracker.get_slot(slot) is not None]


# Words that may surround a domain's name in an answer that says nothing else about it.
_FILLER = frozenset({
    "c", "c'", "est", "ce", "pour", "la", "le", "les", "l'", "ma", "mon", "mes", "sa", "son",
    "une", "un", "de", "du", "des", "d'", "euh", "ben", "bah", "alors", "oui", "voila", "svp",
    "stp", "s'il", "vous", "plait", "merci", "madame", "monsieur", "j'", "je", "ai", "a",
})  # fmt: skip


def is_question(slot: str | None) -> bool:
    """Whether `slot` is one of the check's questions (a document or a condition)."""
    return bool(slot) and slot.startswith((piece_slot(""), condition_slot("")))


def first_action_on_the_message(tracker: Tracker) -> bool:
    """Whether nothing has acted on the last message yet: after "c'est quoi ? je sais pas ce
    que c'est" was explained, the words are no answer to the question asked again."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return True
        # Rasa marks the form's own run in the tracker it sends for validation.
        if event.get("event") == "action" and event.get("name") not in (
            "action_listen",
            CHECKLIST_FORM,
        ):
            return False
    return True


def answer_read(tracker: Tracker) -> list[EventType]:
    """The requested question's answer read from a sentence ("non je l'ai pas encore")."""
    requested = tracker.get_slot(REQUESTED_SLOT)
    if not is_question(requested) or not first_action_on_the_message(tracker):
        return []
    answer = read_answer(tracker.latest_message.get("text") or "")
    return [SlotSet(requested, answer)] if answer else []


TOPIC_ACTIONS = ("action_answer_topic", "action_choose_procedure")


def follows_a_topic(tracker: Tracker, intent: str | None) -> bool:
    """Whether this message answers a price or delay question just asked ("combien coûte une
    carte grise ?" … "pour une voiture d'occasion"): the assistant's last action answered one,
    and the person does not ask for the check itself ("vérifier ma demande")."""
    if intent in responses.CHECK_INTENTS:
        return False
    last_user = max(
        (i for i, e in enumerate(tracker.events) if e.get("event") == "user"), default=None
    )
    if last_user is None:
        return False
    for event in reversed(tracker.events[:last_user]):
        if event.get("event") == "action" and event.get("name") != "action_listen":
            return event.get("name") in TOPIC_ACTIONS
    return False


def names_only_a_domain(text: str, entities: list[dict]) -> bool:
    """Whether the message is just "carte grise" or "c'est pour le permis", and nothing else."""
    for entity in entities:
        if entity.get("entity") != "domaine" or entity.get("start") is None:
            continue
        rest = comparable(text[: entity["start"]] + " " + text[entity["end"] :])
        if all(word in _FILLER for word in re.findall(r"[a-z]+'?", rest)):
            return True
    return False


def _unambiguous_entities(entities: list[dict]) -> dict[str, str]:
    """Each entity's value, leaving out one given twice with different values.

    "mon permis est dans la voiture avec la carte grise" names both domains, so neither.
    """
    values: dict[str, set[str]] = {}
    for entity in entities:
        if entity.get("value") is not None:
            values.setdefault(entity["entity"], set()).add(str(entity["value"]))
    return {name: found.pop() for name, found in values.items() if len(found) == 1}


class ActionChooseProcedure(Action):
    """Work out which procedure the person means, or ask with buttons."""

    def name(self) -> str:
        return "action_choose_procedure"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        catalogue = get_catalogue()
        found = tracker.latest_message.get("entities", [])
        entities = _unambiguous_entities(found)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if names_only_a_domain(tracker.latest_message.get("text") or "", found):
            # "carte grise" alone reads like a duplicata request to the NLU: list the domain.
            intent = None
        candidates = self._candidates(catalogue, entities, intent)
        said = named_in(tracker.latest_message.get("text") or "", catalogue.procedure_names)
        if intent and said and said not in candidates:
            # The words name another procedure than the intent's guess: "un duplicata de
            # permis" is the licence's, whatever "duplicata" suggests.
            candidates = [said]
        pending = tracker.get_slot(PENDING_TOPIC_SLOT) if follows_a_topic(tracker, intent) else None
        if intent not in responses.CHECK_INTENTS:
            pending = topic_asked(tracker.latest_message.get("text") or "") or pending
        if len(candidates) == 1 and pending in responses.TOPICS:
            # "combien coûte une carte grise ?" … "pour une voiture d'occasion": the price,
            # not a check.
            procedure = candidates[0]
            dispatcher.utter_message(response=responses.procedure_topic(pending, procedure))
            return [
                *offer_detail(pending, procedure),
                SlotSet(PENDING_TOPIC_SLOT, pending),  # "et pour une moto ?" next
                SlotSet(PROCEDURE_SLOT, procedure),
                SlotSet("procedure_chosen", False),
            ]
        if len(candidates) == 1:
            procedure = candidates[0]
            dispatcher.utter_message(response=responses.checklist_intro(procedure))
            known = known_conditions(
                catalogue.procedures[procedure],
                tracker.latest_message.get("text") or "",
                catalogue.conditions,
            )
            return [
                *forget_answers(tracker, catalogue),
                *(SlotSet(slot, value) for slot, value in known.items()),
                SlotSet(PENDING_TOPIC_SLOT, None),
                SlotSet(DETAIL_SLOT, None),
                SlotSet(PROCEDURE_SLOT, procedure),
                SlotSet("procedure_chosen", True),
            ]
        if candidates:
            dispatcher.utter_message(response=responses.choose_procedure(intent))
        elif entities.get("domaine") in ("permis_de_conduire", "carte_grise"):
            dispatcher.utter_message(response=responses.choose_procedure(entities["domaine"]))
        else:
            dispatcher.utter_message(response=responses.CHOOSE_DOMAIN)
        # A "oui" now is about the buttons, never about a detail offered earlier.
        return [
            SlotSet(DETAIL_SLOT, None),
            SlotSet(PROCEDURE_SLOT, None),
            SlotSet("procedure_chosen", False),
        ]

    @staticmethod
    def _candidates(catalogue: Catalogue, entities: dict, intent: str | None) -> list[str]:
        named = entities.get("demarche")
        if named in catalogue.procedures:
            return [named]
        candidates = list(catalogue.intentions.get(intent or "", ()))
        domaine = entities.get("domaine")
        if domaine:
            # "renouveler ma carte grise" is no licence renewal: ask among the carte grise ones.
            candidates = [c for c in candidates if catalogue.procedures[c].domain == domaine]
        said = catalogue.circonstances.get(entities.get("circonstance") or "")
        return [said] if said in candidates else candidates


class ValidateChecklistForm(FormValidationAction):
    """Ask the documents of the chosen procedure; explain a rule on "je ne sais pas"."""

    def name(self) -> str:
        return "validate_checklist_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        catalogue = get_catalogue()
        procedure = current_procedure(tracker, catalogue)
        if procedure is None:
            return []
        return question_slots(procedure, tracker.slots, catalogue.conditions)

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """The answer read from the words, when they say yes, no or don't know in a sentence
        ("oui le vendeur me l'a donnée barrée"): it wins over the intent's guess. (No
        `extract_<slot>` methods: rasa_sdk would look for one per question.)"""
        return answer_read(tracker)

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        required = await self.required_slots([], dispatcher, tracker, domain)
        events: list[EventType] = []
        for slot, value in tracker.slots_to_validate().items():
            if slot not in required:
                continue
            if value not in ANSWERS:
                value = None
            elif value == DONT_KNOW and slot.startswith(piece_slot("")):
                dispatcher.utter_message(response=responses.explain_piece(document_of(slot)))
            events.append(SlotSet(slot, value))
            tracker.slots[slot] = value
        return events


class ActionChecklistGoBack(Action):
    """Clear the previous answer so the form asks that question again."""

    def name(self) -> str:
        return "action_checklist_go_back"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        catalogue = get_catalogue()
        procedure = current_procedure(tracker, catalogue)
        previous = (
            previous_question(
                procedure, tracker.slots, tracker.get_slot(REQUESTED_SLOT), catalogue.conditions
            )
            if procedure
            else None
        )
        if previous is None:
            dispatcher.utter_message(response="utter_checklist_nothing_to_go_back")
            return []
        dispatcher.utter_message(response="utter_checklist_going_back")
        return [SlotSet(previous, None), SlotSet(REQUESTED_SLOT, previous)]


class ActionChecklistHint(Action):
    """A message the NLU did not place during the check: an answer in a sentence ("je crois
    pas") is taken as the answer; anything else gets how to answer. The form then goes on."""

    def name(self) -> str:
        return "action_checklist_hint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        read = answer_read(tracker)
        if not read:
            dispatcher.utter_message(response="utter_checklist_answer_hint")
            return []
        # The form, run next on this unhappy path, does not validate it again (Rasa sends it no
        # slot to validate): the rule is explained here.
        slot, value = read[0]["name"], read[0]["value"]
        if value == DONT_KNOW and slot.startswith(piece_slot("")):
            dispatcher.utter_message(response=responses.explain_piece(document_of(slot)))
        return read


class ActionExplainCurrentPiece(Action):
    """Answer "c'est quoi ?": about the document named, or else the one being asked."""

    def name(self) -> str:
        return "action_explain_current_piece"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        catalogue = get_catalogue()
        procedure = current_procedure(tracker, catalogue)
        named = named_in(
            tracker.latest_message.get("text") or "",
            catalogue.document_names,
            preferred=procedure.documents if procedure else (),
        )
        requested = tracker.get_slot(REQUESTED_SLOT) or ""
        if not named and requested.startswith(condition_slot("")):
            # A condition's question is its own explanation: say how to answer it.
            dispatcher.utter_message(response="utter_checklist_answer_hint")
            return []
        document = named or document_of(requested)
        known = document in catalogue.documents  # each has its explanation in the domain
        response = responses.explain_piece(document) if known else responses.EXPLAIN_UNKNOWN
        dispatcher.utter_message(response=response)
        return []


class ActionChecklistSummary(Action):
    """Say what is ready, missing (with what to do) and to check; save it for a mediator."""

    def __init__(self, client: DossierApiClient | None = None) -> None:
        self._client = client

    def name(self) -> str:
        return "action_checklist_summary"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        catalogue = get_catalogue()
        procedure = current_procedure(tracker, catalogue)
        reset = [*forget_answers(tracker, catalogue), SlotSet("procedure_chosen", False)]
        if procedure is None:
            return reset
        summary = summarise(procedure, tracker.slots, catalogue.conditions)
        dispatcher.utter_message(response="utter_checklist_summary_intro")
        for kind, documents in (
            ("missing", summary.missing),
            ("check", summary.to_check),
            ("ready", summary.ready),
        ):
            for document in documents:
                dispatcher.utter_message(response=responses.summary_piece(kind, document))
        if not summary.missing and not summary.to_check:
            dispatcher.utter_message(response="utter_checklist_all_ready")
        await self._save(dispatcher, summary)
        return reset

    async def _save(self, dispatcher: CollectingDispatcher, summary: Summary) -> None:
        client = self._client or DossierApiClient.from_env()
        try:
            code = await client.save_checklist(**summary.as_request())
        except ApiUnavailable:
            dispatcher.utter_message(response="utter_checklist_not_saved")
            return
        dispatcher.utter_message(
            response="utter_checklist_saved", code=code, code_epele=" ".join(code)
        )
