"""Check a dossier: collect number and date of birth, ask the API, tell the status."""

from datetime import date
from math import ceil
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
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
from guichet.identifiers import normalise_numero, parse_birth_date

FORM_SLOTS = ("numero_dossier", "date_naissance")


class ValidateDossierStatusForm(ValidatesItsOwnSlots, FormValidationAction):
    """Accept numbers and dates as people write them; explain and ask again otherwise."""

    def name(self) -> str:
        return "validate_dossier_status_form"

    def validate_numero_dossier(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if mentions_neph(tracker):
            dispatcher.utter_message(response="utter_numero_is_neph")
            return {"numero_dossier": None}
        numero = normalise_numero(str(value)) if value else None
        if numero is None:
            dispatcher.utter_message(response="utter_invalid_numero_dossier")
        return {"numero_dossier": numero}

    def validate_date_naissance(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        birth_date = parse_birth_date(str(value), date.today()) if value else None
        if birth_date is None:
            dispatcher.utter_message(response="utter_invalid_date_naissance")
            return {"date_naissance": None}
        return {"date_naissance": birth_date.isoformat()}


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
        forget = [SlotSet(slot, None) for slot in FORM_SLOTS]
        # A stuck dossier ends on a yes/no offer of a person; the rules read the answer.
        stuck = False
        try:
            status = await client.lookup(
                numero, date.fromisoformat(birth_date), asker=asker_of(tracker)
            )
        except DossierNotFound:
            dispatcher.utter_message(response="utter_dossier_not_found")
        except TooManyAttempts as error:
            minutes = ceil(error.retry_after_seconds / 60)
            dispatcher.utter_message(response="utter_dossier_too_many_attempts", minutes=minutes)
        except (ApiUnavailable, TypeError, ValueError):
            dispatcher.utter_message(response="utter_dossier_service_unavailable")
        else:
            tell_status(dispatcher, status)
            stuck = status.bloque
        return [*forget, SlotSet("dossier_bloque", stuck)]


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
