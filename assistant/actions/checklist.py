"""The check before sending: name the procedure, ask document by document, summarise, save."""

import re

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from assistant.actions.api_client import ApiUnavailable, DossierApiClient
from assistant.actions.checklist_logic import Summary, previous_question, question_slots, summarise
from assistant.actions.naming import comparable, named_in
from guichet import responses
from guichet.catalogue import Catalogue, Procedure, get_catalogue
from guichet.responses import ANSWERS, DONT_KNOW, PROCEDURE_SLOT, document_of, piece_slot

REQUESTED_SLOT = "requested_slot"


def current_procedure(tracker: Tracker, catalogue: Catalogue) -> Procedure | None:
    return catalogue.procedures.get(tracker.get_slot(PROCEDURE_SLOT) or "")


def forget_answers(tracker: Tracker, catalogue: Catalogue) -> list[EventType]:
    """Clear every document answer given so far, so a new check starts blank."""
    documents = {d for p in catalogue.procedures.values() for d in p.documents}
    slots = sorted(piece_slot(d) for d in documents)
    return [SlotSet(slot, None) for slot in slots if tracker.get_slot(slot) is not None]


# Words that may surround a domain's name in an answer that says nothing else about it.
_FILLER = frozenset({
    "c", "c'", "est", "ce", "pour", "la", "le", "les", "l'", "ma", "mon", "mes", "sa", "son",
    "une", "un", "de", "du", "des", "d'", "euh", "ben", "bah", "alors", "oui", "voila", "svp",
    "stp", "s'il", "vous", "plait", "merci", "madame", "monsieur", "j'", "je", "ai", "a",
})  # fmt: skip


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
        if len(candidates) == 1:
            procedure = candidates[0]
            dispatcher.utter_message(response=responses.checklist_intro(procedure))
            return [
                *forget_answers(tracker, catalogue),
                SlotSet(PROCEDURE_SLOT, procedure),
                SlotSet("procedure_chosen", True),
            ]
        if candidates:
            dispatcher.utter_message(response=responses.choose_procedure(intent))
        elif entities.get("domaine") in ("permis_de_conduire", "carte_grise"):
            dispatcher.utter_message(response=responses.choose_procedure(entities["domaine"]))
        else:
            dispatcher.utter_message(response=responses.CHOOSE_DOMAIN)
        return [SlotSet(PROCEDURE_SLOT, None), SlotSet("procedure_chosen", False)]

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
        procedure = current_procedure(tracker, get_catalogue())
        return question_slots(procedure) if procedure else []

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Nothing to extract by hand: the answers come from the slot mappings. (rasa_sdk would
        look for an `extract_<slot>` method per question and warn at each turn.)"""
        return []

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
            elif value == DONT_KNOW:
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
        procedure = current_procedure(tracker, get_catalogue())
        previous = (
            previous_question(procedure, tracker.slots, tracker.get_slot(REQUESTED_SLOT))
            if procedure
            else None
        )
        if previous is None:
            dispatcher.utter_message(response="utter_checklist_nothing_to_go_back")
            return []
        dispatcher.utter_message(response="utter_checklist_going_back")
        return [SlotSet(previous, None), SlotSet(REQUESTED_SLOT, previous)]


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
        document = named or document_of(tracker.get_slot(REQUESTED_SLOT) or "")
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
        summary = summarise(procedure, tracker.slots)
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
