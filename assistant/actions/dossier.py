"""Check a dossier: collect number and date of birth, ask the API, tell the status."""

from datetime import date, datetime
from math import ceil
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import (
    ActionExecuted,
    ActiveLoop,
    EventType,
    FollowupAction,
    SlotSet,
    UserUttered,
)
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from assistant.actions.api_client import (
    ApiUnavailable,
    Asker,
    DossierApiClient,
    DossierNotFound,
    DossierStatus,
    TooManyAttempts,
)
from assistant.actions.validation import ValidatesItsOwnSlots
from guichet import responses
from guichet.catalogue import get_catalogue
from guichet.identifiers import (
    BirthDateKind,
    BirthDateReading,
    normalise_numero,
    read_birth_date,
)

FORM = "dossier_status_form"
FORM_SLOTS = ("numero_dossier", "date_naissance")
PROPOSED_DATE = "date_naissance_proposee"
CONFIRMED = "date_naissance_confirmee"
REQUESTED_SLOT = "requested_slot"
NOT_FOUND = "dossier_introuvable"
# After this many numbers that cannot be one, the form stops asking: it says where to find
# the number and offers the other routes.
INVALID_NUMBERS_BEFORE_HELP = 2
DISPLAY_DATE = "%d/%m/%Y"
MIN_NUMERO_DIGITS = 6
# "non", "je sais pas" to the number or date question: nothing at hand.
NOT_AT_HAND_INTENTS = frozenset({"deny", "dont_know"})
# What the validation says when the form must end without a lookup.
FORM_ENDING_RESPONSES = frozenset({"utter_where_is_request_number", "utter_where_is_birth_date"})


class ValidateDossierStatusForm(ValidatesItsOwnSlots, FormValidationAction):
    """Accept numbers and dates as people write them; explain and ask again otherwise.

    A date with a two-digit year is confirmed first (date_naissance_confirmee, asked only
    then); a date given with the number ("dossier 2611000002, né le 4 juillet 1961") is taken
    with it; after INVALID_NUMBERS_BEFORE_HELP numbers that cannot be one, or "je sais pas",
    the form ends with where to find the number (or the date) and the other routes instead
    of asking again.
    """

    def name(self) -> str:
        return "validate_dossier_status_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if gave_up(dispatcher):
            return []
        if tracker.get_slot(PROPOSED_DATE) and not tracker.get_slot("date_naissance"):
            return ["numero_dossier", CONFIRMED, "date_naissance"]
        return list(FORM_SLOTS)

    def validate_numero_dossier(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if mentions_neph(tracker):
            dispatcher.utter_message(response="utter_numero_is_neph")
            return {"numero_dossier": None}
        numero = normalise_numero(str(value)) if value else None
        if numero is None:
            tries = invalid_numbers_in_this_form(tracker) + 1
            if said_they_do_not_have_it(tracker, value) or tries >= INVALID_NUMBERS_BEFORE_HELP:
                # "non je l'ai pas": where to find it, and the other routes; no more asking.
                dispatcher.utter_message(response="utter_where_is_request_number")
            else:
                dispatcher.utter_message(response="utter_invalid_numero_dossier")
            return {"numero_dossier": None}
        slots: dict[str, Any] = {"numero_dossier": numero}
        if not tracker.get_slot("date_naissance"):
            # "mon numero c 2611000002 et je suis né le 4 juillet 1961": the date too.
            said = text_without_the_number(tracker)
            if said:
                slots |= birth_date_slots(read_birth_date(said, date.today()), answered=False)
        return slots

    def validate_date_naissance(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        reading = read_birth_date(str(value), date.today()) if value else None
        if said_they_do_not_have_it(tracker, value):
            # "je sais pas": whose date it is, where it is written, a person; no more asking.
            dispatcher.utter_message(response="utter_where_is_birth_date")
        elif reading is None or reading.kind is BirthDateKind.NONE:
            dispatcher.utter_message(response="utter_invalid_date_naissance")
        elif reading.kind is BirthDateKind.CENTURY_UNKNOWN:
            dispatcher.utter_message(response="utter_birth_year_in_full")
        return birth_date_slots(reading, answered=True)

    def validate_date_naissance_confirmee(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        proposed = tracker.get_slot(PROPOSED_DATE)
        if value is True and proposed:
            day = datetime.strptime(proposed, DISPLAY_DATE).date()
            return {"date_naissance": day.isoformat(), CONFIRMED: None, PROPOSED_DATE: None}
        if value is False:
            dispatcher.utter_message(response="utter_birth_year_in_full")
        return {"date_naissance": None, CONFIRMED: None, PROPOSED_DATE: None}


def birth_date_slots(reading: BirthDateReading | None, *, answered: bool) -> dict[str, Any]:
    """The form's slots for a reading of a date of birth: the date, or a guess to confirm.

    `answered`: the message answered the date question (else the date came with the number,
    and a message without one leaves the slots alone).
    """
    if reading is not None and reading.kind is BirthDateKind.EXACT:
        return {"date_naissance": reading.day.isoformat(), PROPOSED_DATE: None}
    if reading is not None and reading.kind is BirthDateKind.GUESSED:
        return {"date_naissance": None, PROPOSED_DATE: reading.day.strftime(DISPLAY_DATE)}
    return {"date_naissance": None, PROPOSED_DATE: None} if answered else {}


def text_without_the_number(tracker: Tracker) -> str:
    """The latest message without the request number in it, where a date may also be."""
    message = tracker.latest_message or {}
    text = str(message.get("text") or "")
    spans = [
        (entity["start"], entity["end"])
        for entity in message.get("entities") or []
        if entity.get("entity") == "numero_dossier"
        and isinstance(entity.get("start"), int)
        and isinstance(entity.get("end"), int)
    ]
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + " " + text[end:]
    return text if spans else ""


def said_they_do_not_have_it(tracker: Tracker, value: Any) -> bool:
    """ "non", "je sais pas" (and no digit) to the number or the date: nothing at hand."""
    return latest_intent(tracker) in NOT_AT_HAND_INTENTS and not any(
        char.isdigit() for char in str(value)
    )


def latest_intent(tracker: Tracker) -> str | None:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def gave_up(dispatcher: CollectingDispatcher) -> bool:
    """Whether this validation said where to find the number or the date: the form ends."""
    return any(message.get("response") in FORM_ENDING_RESPONSES for message in dispatcher.messages)


def invalid_numbers_in_this_form(tracker: Tracker) -> int:
    """How many times "this number is not complete" was said since the form last started."""
    count = 0
    for event in tracker.events:
        if event.get("event") == "active_loop" and event.get("name") == FORM:
            count = 0
        elif (
            event.get("event") == "bot"
            and (event.get("metadata") or {}).get("utter_action") == "utter_invalid_numero_dossier"
        ):
            count += 1
    return count


class ActionLeaveDossierForm(Action):
    """The person changed their mind while giving the number or date ("en fait je veux
    vendre ma voiture"): leave the form and handle the message as if no form were active.

    The message is given back to Rasa (as the two-stage fallback does), so the rules of its
    intent answer it. A message that is in fact an answer (a number, a date) goes to the form.
    """

    def name(self) -> str:
        return "action_leave_dossier_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        message = tracker.latest_message or {}
        requested = tracker.get_slot(REQUESTED_SLOT)
        text = str(message.get("text") or "")
        if looks_like_an_answer(requested, text):
            return [SlotSet(requested, text), FollowupAction(FORM)]
        return [
            ActiveLoop(None),
            SlotSet(REQUESTED_SLOT, None),
            *[SlotSet(slot, None) for slot in (*FORM_SLOTS, PROPOSED_DATE, CONFIRMED)],
            SlotSet(NOT_FOUND, False),
            ActionExecuted("action_listen"),
            {
                **UserUttered(
                    text,
                    parse_data={
                        "text": text,
                        "intent": message.get("intent") or {},
                        "entities": message.get("entities") or [],
                        "intent_ranking": message.get("intent_ranking") or [],
                    },
                    input_channel=tracker.get_latest_input_channel(),
                ),
                # Who asks (the door's hash) stays with the message, for the API's limits.
                "metadata": message.get("metadata") or {},
            },
        ]


def looks_like_an_answer(requested: Any, text: str) -> bool:
    """Whether `text` answers the form's question although its intent said otherwise."""
    if requested == "numero_dossier":
        # Request numbers are mostly digits: "vendre ma voiture AB123CD" is not one.
        digits = sum(char.isdigit() for char in text)
        return normalise_numero(text) is not None and digits >= MIN_NUMERO_DIGITS
    if requested == "date_naissance":
        return read_birth_date(text, date.today()).kind is not BirthDateKind.NONE
    return False


class ActionForgetDossierNumber(Action):
    """ "Redonner le numéro": forget the number (and date) so that the form asks it again."""

    def name(self) -> str:
        return "action_forget_dossier_number"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return [SlotSet(slot, None) for slot in (*FORM_SLOTS, PROPOSED_DATE, CONFIRMED)]


def mentions_neph(tracker: Tracker) -> bool:
    """Whether the last message gave a licence number (NEPH), which people mistake for it."""
    return next(tracker.get_latest_entity_values("neph"), None) is not None


class ActionCheckDossierStatus(Action):
    """Ask the dossier API and tell the status, the missing pieces and the next step."""

    def __init__(self, client: DossierApiClient | None = None) -> None:
        self._client = client

    def name(self) -> str:
        return "action_check_dossier_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        client = self._client or DossierApiClient.from_env()
        numero = tracker.get_slot("numero_dossier")
        birth_date = tracker.get_slot("date_naissance")
        if not numero or not birth_date:
            # The form ended early (no number at hand): its validation said what to do.
            return [SlotSet(NOT_FOUND, False)]
        forget = [SlotSet(slot, None) for slot in FORM_SLOTS]
        # A stuck dossier ends on a yes/no offer of a person; the rules read the answer.
        stuck = False
        try:
            status = await client.lookup(
                numero, date.fromisoformat(birth_date), asker=asker_of(tracker)
            )
        except DossierNotFound:
            dispatcher.utter_message(response="utter_dossier_not_found")
            # "Vérifions la date": the form asks only the date again (rules/dossier.yml),
            # unless the person gives the number again (action_forget_dossier_number).
            return [SlotSet("date_naissance", None), SlotSet(NOT_FOUND, True)]
        except TooManyAttempts as error:
            minutes = ceil(error.retry_after_seconds / 60)
            dispatcher.utter_message(response="utter_dossier_too_many_attempts", minutes=minutes)
        except (ApiUnavailable, TypeError, ValueError):
            dispatcher.utter_message(response="utter_dossier_service_unavailable")
        else:
            tell_status(dispatcher, status)
            stuck = status.bloque
        return [*forget, SlotSet("dossier_bloque", stuck), SlotSet(NOT_FOUND, False)]


def asker_of(tracker: Tracker) -> Asker:
    """Who is asking: the chat door's hash of their address (message metadata "asker") and
    the conversation, so that the API's attempt limits apply to this person only."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    address = metadata.get("asker") if isinstance(metadata, dict) else None
    return Asker(
        address=address if isinstance(address, str) and address else None,
        conversation=tracker.sender_id or None,
    )


def tell_status(dispatcher: CollectingDispatcher, status: DossierStatus) -> None:
    """Utter the status responses of the domain, filled with this dossier's values.

    The domain has a response for every status and document of the catalogue
    (tests/actions/test_responses.py), so the catalogue says which exist: Rasa need not send
    this action its 200 KB domain on every call (endpoints.yml, enable_selective_domain).
    """
    catalogue = get_catalogue()
    depuis = status.depuis.strftime("%d/%m/%Y")
    dispatcher.utter_message(response="utter_dossier_demarche", demarche=status.demarche_libelle)
    status_response = responses.status(status.statut)
    if status.statut not in catalogue.statuses:
        status_response = responses.STATUS_OTHER
    dispatcher.utter_message(response=status_response, depuis=depuis, statut=status.statut_libelle)
    if status.motif:
        dispatcher.utter_message(response="utter_dossier_motif", motif=status.motif)
    pieces = zip(status.pieces_manquantes, status.pieces_manquantes_libelles, strict=False)
    for piece, label in pieces:
        # The check-before-sending catalogue says how to fix a piece; else name it only.
        if piece in catalogue.documents:
            dispatcher.utter_message(response=responses.summary_piece("missing", piece))
        else:
            dispatcher.utter_message(response="utter_dossier_piece_manquante", piece=label)
    if status.suivi_courrier:
        dispatcher.utter_message(
            response="utter_dossier_suivi_courrier",
            suivi_courrier=status.suivi_courrier,
            suivi_courrier_epele=" ".join(status.suivi_courrier),
        )
    if status.bloque:
        dispatcher.utter_message(
            response="utter_dossier_bloque",
            depuis_jours=status.depuis_jours,
            delai_normal_jours=status.delai_normal_jours,
        )
        dispatcher.utter_message(response="utter_offer_human_for_stuck_dossier")
