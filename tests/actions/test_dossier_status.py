import asyncio
import copy
import re
import string

import httpx
import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from assistant.actions.api_client import ApiSettings, DossierApiClient
from assistant.actions.dossier import ActionCheckDossierStatus, ValidateDossierStatusForm
from tests.actions.conftest import make_tracker, sent
from tests.actions.contract import api_transport
from tests.actions.test_api_client import BODY

SLOTS = {"numero_dossier": "2611000002", "date_naissance": "1961-07-04"}


def run_action(  # type: ignore[no-untyped-def]
    domain: dict, handler, tracker: Tracker | None = None
) -> tuple[list[dict], list]:
    client = DossierApiClient(ApiSettings("http://api.test", "t"), api_transport(handler))
    dispatcher = CollectingDispatcher()
    tracker = tracker or make_tracker(SLOTS)
    action = ActionCheckDossierStatus(client)
    events = asyncio.run(action.run(dispatcher, tracker, sent(action, domain)))
    return dispatcher.messages, events


def tracker_from_the_door(metadata: dict | None) -> Tracker:
    """The tracker of a conversation whose last message came through the chat door."""
    tracker = make_tracker(SLOTS, text="4 juillet 1961")
    tracker.sender_id = "conversation-7f3a"
    tracker.latest_message = {**tracker.latest_message, "metadata": metadata}
    return tracker


def headers_sent(domain: dict, tracker: Tracker) -> httpx.Headers:
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["headers"] = request.headers
        return httpx.Response(200, json=BODY)

    messages, _ = run_action(domain, handler, tracker)
    assert messages[0]["response"] == "utter_dossier_demarche", "the answer is unchanged"
    return seen["headers"]


def test_the_lookup_says_who_asks(domain: dict) -> None:
    tracker = tracker_from_the_door({"asker": "5be1c0de", "door": "web"})
    headers = headers_sent(domain, tracker)
    assert headers["X-Guichet-Asker"] == "5be1c0de"
    assert headers["X-Guichet-Conversation"] == "conversation-7f3a"


@pytest.mark.parametrize("metadata", [None, {}, {"door": "web"}, {"asker": 12}])
def test_without_an_asker_the_conversation_is_still_sent(
    domain: dict, metadata: dict | None
) -> None:
    headers = headers_sent(domain, tracker_from_the_door(metadata))
    assert "X-Guichet-Asker" not in headers
    assert headers["X-Guichet-Conversation"] == "conversation-7f3a"


def rendered(message: dict, domain: dict) -> str:
    """Fill the domain response as Rasa would, failing on any missing value."""
    template = domain["responses"][message["response"]][0]["text"]
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    missing = names - set(message)
    assert not missing, f"{message['response']} lacks {missing}"
    return template.format(**{name: message[name] for name in names})


def answer(domain: dict, body: dict | None = None, status: int = 200) -> list[str]:
    messages, events = run_action(
        domain, lambda request: httpx.Response(status, json=body if body else {"detail": "x"})
    )
    stuck = bool(body and status == 200 and body.get("bloque"))
    assert events == [
        SlotSet("numero_dossier", None),
        SlotSet("date_naissance", None),
        SlotSet("dossier_bloque", stuck),
        SlotSet("dossier_introuvable", False),
    ]
    return [rendered(message, domain) for message in messages]


def test_incomplete_dossier_names_procedure_status_piece_and_reason(domain: dict) -> None:
    text = " ".join(answer(domain, BODY))
    assert "renouvellement du permis de conduire" in text
    assert "incomplète depuis le 18/11/2026" in text
    assert "Il manque : justificatif de domicile. Ce qu'il faut faire" in text
    assert "le justificatif de domicile envoyé a plus de 6 mois" in text
    assert text.index("Prochaine étape") < text.index("incomplète")


def test_a_piece_outside_the_catalogue_is_named_by_its_label(domain: dict) -> None:
    body = {**BODY, "pieces_manquantes": ["piece_inedite"], "pieces_manquantes_libelles": ["x"]}
    assert "Pièce demandée : x." in answer(domain, body)


@pytest.mark.parametrize(
    "statut",
    [
        "brouillon",
        "attente_paiement",
        "transmis",
        "en_instruction",
        "incomplet",
        "valide",
        "en_fabrication",
        "expedie",
        "rejete",
    ],
)
def test_every_demo_status_has_its_own_response(domain: dict, statut: str) -> None:
    body = {**copy.deepcopy(BODY), "statut": statut, "pieces_manquantes_libelles": []}
    messages, _ = run_action(domain, lambda request: httpx.Response(200, json=body))
    assert messages[1]["response"] == f"utter_status_{statut}"


def test_unknown_status_falls_back_to_its_label(domain: dict) -> None:
    body = {**BODY, "statut": "nouveau_statut", "statut_libelle": "statut inédit"}
    assert "statut inédit" in " ".join(answer(domain, body))


def test_stuck_dossier_apologises_and_offers_a_person(domain: dict) -> None:
    body = {
        **BODY,
        "statut": "en_instruction",
        "bloque": True,
        "depuis_jours": 120,
        "delai_normal_jours": 30,
    }
    texts = answer(domain, body)
    text = " ".join(texts)
    assert "120 jours" in text
    assert "moins de 30 jours" in text, "the usual delay is told"
    assert "désolés" in text
    assert texts[-1] == "Voulez-vous qu'une personne regarde votre dossier ?"


def test_shipped_dossier_gives_the_tracking_number(domain: dict) -> None:
    body = {**BODY, "statut": "expedie", "suivi_courrier": "1L00000000005"}
    assert "1L00000000005" in " ".join(answer(domain, body))


def test_not_found_reveals_nothing(domain: dict) -> None:
    messages, _ = run_action(domain, lambda request: httpx.Response(404, json={"detail": "x"}))
    assert [m["response"] for m in messages] == ["utter_dossier_not_found"]


def test_lockout_says_how_long_to_wait(domain: dict) -> None:
    messages, _ = run_action(
        domain, lambda request: httpx.Response(429, headers={"Retry-After": "61"})
    )
    assert rendered(messages[0], domain).count("2 minutes") == 1


def test_api_down_is_said_plainly(domain: dict) -> None:
    messages, _ = run_action(domain, lambda request: httpx.Response(503, json={}))
    assert [m["response"] for m in messages] == ["utter_dossier_service_unavailable"]


def validate(slot: str, value: str, domain: dict) -> tuple[dict, list[str]]:
    dispatcher = CollectingDispatcher()
    method = getattr(ValidateDossierStatusForm(), f"validate_{slot}")
    result = method(value, dispatcher, make_tracker({}), domain)
    return result, [m["response"] for m in dispatcher.messages]


def test_valid_number_is_normalised(domain: dict) -> None:
    assert validate("numero_dossier", "26 11-000.002", domain) == (
        {"numero_dossier": "2611000002"},
        [],
    )


def test_invalid_number_is_explained_and_asked_again(domain: dict) -> None:
    assert validate("numero_dossier", "je sais pas", domain) == (
        {"numero_dossier": None},
        ["utter_invalid_numero_dossier"],
    )


def test_date_is_stored_as_iso(domain: dict) -> None:
    assert validate("date_naissance", "4 juillet 1961", domain) == (
        {"date_naissance": "1961-07-04", "date_naissance_proposee": None},
        [],
    )


def test_invalid_date_is_explained_and_asked_again(domain: dict) -> None:
    assert validate("date_naissance", "hier", domain) == (
        {"date_naissance": None, "date_naissance_proposee": None},
        ["utter_invalid_date_naissance"],
    )


def test_every_response_named_in_actions_exists_in_the_domain(domain: dict) -> None:
    actions_dir = __import__("pathlib").Path(__file__).resolve().parents[2] / "assistant/actions"
    named = set()
    for path in actions_dir.glob("*.py"):
        named |= set(re.findall(r'"(utter_[a-z_]+)"', path.read_text(encoding="utf-8")))
    assert named, "no response names found: the pattern no longer matches the code"
    # "utter_action" is the key under which Rasa records which response a bot message was.
    assert named - {"utter_action"} <= set(domain["responses"])


@pytest.mark.parametrize(
    ("typed", "stored", "said", "next_slot"),
    [
        ("26 11-000.002", "2611000002", [], "date_naissance"),
        ("12", None, ["utter_invalid_numero_dossier"], "numero_dossier"),
    ],
)
def test_the_form_validates_the_number_with_what_rasa_sends_it(
    domain: dict, typed: str, stored: str | None, said: list[str], next_slot: str
) -> None:
    tracker = make_tracker({"numero_dossier": typed}, text=typed, active_loop="dossier_status_form")
    tracker.events = [
        {"event": "user", "text": typed},
        {"event": "slot", "name": "numero_dossier", "value": typed},
    ]
    dispatcher = CollectingDispatcher()
    action = ValidateDossierStatusForm()
    events = asyncio.run(action.run(dispatcher, tracker, sent(action, domain)))
    assert events == [SlotSet("numero_dossier", stored), SlotSet("requested_slot", next_slot)]
    assert [m["response"] for m in dispatcher.messages] == said
