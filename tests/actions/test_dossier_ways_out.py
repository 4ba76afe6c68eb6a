"""The status form's ways out and dates: issue 12 ("Every question has a way out", "Dates")."""

import asyncio
from datetime import date

import httpx
import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import (
    ActionExecuted,
    ActiveLoop,
    FollowupAction,
    SlotSet,
    UserUttered,
)
from rasa_sdk.executor import CollectingDispatcher

from assistant.actions.dossier import (
    ActionForgetDossierNumber,
    ActionLeaveDossierForm,
    ValidateDossierStatusForm,
)
from tests.actions.conftest import make_tracker, sent
from tests.actions.test_dossier_status import run_action

FORM = "dossier_status_form"


def form_turn(
    domain: dict,
    slots_set: dict,
    *,
    slots: dict | None = None,
    text: str = "",
    entities: list | None = None,
    history: list | None = None,
    intent: dict | None = None,
) -> tuple[dict, list[str]]:
    """Run the form's validation on one message, as Rasa sends it: the slots it extracted."""
    tracker = make_tracker({**(slots or {}), **slots_set}, text=text, active_loop=FORM)
    tracker.latest_message["entities"] = entities or []
    if intent:
        tracker.latest_message["intent"] = intent
    tracker.events = [
        *(history or []),
        {"event": "user", "text": text},
        *[{"event": "slot", "name": name, "value": value} for name, value in slots_set.items()],
    ]
    dispatcher = CollectingDispatcher()
    action = ValidateDossierStatusForm()
    events = asyncio.run(action.run(dispatcher, tracker, sent(action, domain)))
    return {e["name"]: e["value"] for e in events}, [m["response"] for m in dispatcher.messages]


def test_a_two_digit_year_is_confirmed_before_the_lookup(domain: dict) -> None:
    slots, said = form_turn(
        domain, {"date_naissance": "15/01/99"}, slots={"numero_dossier": "2611000004"}
    )
    assert slots == {
        "date_naissance": None,
        "date_naissance_proposee": "15/01/1999",
        "requested_slot": "date_naissance_confirmee",
    }
    assert said == []  # the form asks "Votre date de naissance est le 15/01/1999, c'est bien ça ?"
    question = domain["responses"]["utter_ask_dossier_status_form_date_naissance_confirmee"]
    assert "{date_naissance_proposee}" in question[0]["text"]
    assert [b["payload"] for b in question[0]["buttons"]] == ["/affirm", "/deny"]


def test_yes_takes_the_proposed_date(domain: dict) -> None:
    slots, said = form_turn(
        domain,
        {"date_naissance_confirmee": True},
        slots={"numero_dossier": "2611000004", "date_naissance_proposee": "15/01/1999"},
    )
    assert slots == {
        "date_naissance": "1999-01-15",
        "date_naissance_confirmee": None,
        "date_naissance_proposee": None,
        "requested_slot": None,
    }
    assert said == []


def test_no_asks_the_year_in_full(domain: dict) -> None:
    slots, said = form_turn(
        domain,
        {"date_naissance_confirmee": False},
        slots={"numero_dossier": "2611000004", "date_naissance_proposee": "15/01/1999"},
    )
    assert slots["date_naissance"] is None
    assert slots["date_naissance_proposee"] is None
    assert slots["requested_slot"] == "date_naissance"
    assert said == ["utter_birth_year_in_full"]


def test_a_full_date_typed_instead_of_yes_is_taken(domain: dict) -> None:
    slots, _ = form_turn(
        domain,
        {"date_naissance": "15/01/1999"},
        slots={"numero_dossier": "2611000004", "date_naissance_proposee": "15/01/1998"},
    )
    assert slots["date_naissance"] == "1999-01-15"
    assert slots["requested_slot"] is None


def test_a_year_of_either_century_is_asked_in_full(domain: dict) -> None:
    slots, said = form_turn(
        domain, {"date_naissance": "01/02/05"}, slots={"numero_dossier": "2611000004"}
    )
    assert slots == {
        "date_naissance": None,
        "date_naissance_proposee": None,
        "requested_slot": "date_naissance",
    }
    assert said == ["utter_birth_year_in_full"]


def numero_entity(text: str, value: str) -> dict:
    start = text.index(value)
    return {"entity": "numero_dossier", "value": value, "start": start, "end": start + len(value)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "mon numero c 2611000002 et je suis né le 4 juillet 1961",
            {"date_naissance": "1961-07-04"},
        ),
        (
            "dossier 2611000002 ne le 04/07/61",
            {"date_naissance": None, "date_naissance_proposee": "04/07/1961"},
        ),
    ],
)
def test_a_date_given_with_the_number_is_taken(domain: dict, text: str, expected: dict) -> None:
    slots, said = form_turn(
        domain,
        {"numero_dossier": "2611000002"},
        text=text,
        entities=[numero_entity(text, "2611000002")],
    )
    assert slots["numero_dossier"] == "2611000002"
    for name, value in expected.items():
        assert slots[name] == value
    assert said == []
    # Not asked again: the lookup comes next, or the confirmation of the year.
    assert slots["requested_slot"] == (
        None if slots["date_naissance"] else "date_naissance_confirmee"
    )


def test_the_number_alone_asks_the_date(domain: dict) -> None:
    slots, _ = form_turn(
        domain,
        {"numero_dossier": "2611000002"},
        text="2611000002",
        entities=[numero_entity("2611000002", "2611000002")],
    )
    assert slots == {"numero_dossier": "2611000002", "requested_slot": "date_naissance"}


def invalid_said() -> dict:
    return {
        "event": "bot",
        "text": "x",
        "metadata": {"utter_action": "utter_invalid_numero_dossier"},
    }


def test_the_second_wrong_number_says_where_to_find_it_and_ends_the_form(domain: dict) -> None:
    first, said_first = form_turn(
        domain, {"numero_dossier": "bof"}, history=[{"event": "active_loop", "name": FORM}]
    )
    assert said_first == ["utter_invalid_numero_dossier"]
    assert first["requested_slot"] == "numero_dossier"
    second, said_second = form_turn(
        domain,
        {"numero_dossier": "je trouve pas"},
        history=[{"event": "active_loop", "name": FORM}, invalid_said()],
    )
    assert said_second == ["utter_where_is_request_number"]
    assert second == {"numero_dossier": None, "requested_slot": None}


@pytest.mark.parametrize(
    ("text", "intent"), [("non je l'ai pas", "deny"), ("je sais pas où il est", "dont_know")]
)
def test_no_to_the_number_question_says_where_to_find_it(
    domain: dict, text: str, intent: str
) -> None:
    slots, said = form_turn(
        domain, {"numero_dossier": text}, text=text, intent={"name": intent, "confidence": 0.8}
    )
    assert said == ["utter_where_is_request_number"]
    assert slots == {"numero_dossier": None, "requested_slot": None}


@pytest.mark.parametrize(
    ("text", "intent"),
    [("je sais pas", "dont_know"), ("je la connais pas sa date", "dont_know"), ("non", "deny")],
)
def test_no_date_at_hand_says_whose_and_where_and_ends_the_form(
    domain: dict, text: str, intent: str
) -> None:
    slots, said = form_turn(
        domain,
        {"date_naissance": text},
        slots={"numero_dossier": "2611000002"},
        text=text,
        intent={"name": intent, "confidence": 0.8},
    )
    assert said == ["utter_where_is_birth_date"]
    # The form ends without a lookup; the number is kept for "J'ai la date".
    assert slots["requested_slot"] is None
    assert slots["date_naissance"] is None
    assert "numero_dossier" not in slots or slots["numero_dossier"] == "2611000002"


def test_a_date_with_a_doubtful_intent_is_still_read(domain: dict) -> None:
    slots, said = form_turn(
        domain,
        {"date_naissance": "je sais pas, le 04/07/1961 je crois"},
        slots={"numero_dossier": "2611000002"},
        text="je sais pas, le 04/07/1961 je crois",
        intent={"name": "dont_know", "confidence": 0.6},
    )
    assert said == []
    assert slots["date_naissance"] == "1961-07-04"


def test_a_new_form_counts_wrong_numbers_afresh(domain: dict) -> None:
    _, said = form_turn(
        domain,
        {"numero_dossier": "bof"},
        history=[invalid_said(), {"event": "active_loop", "name": FORM}],
    )
    assert said == ["utter_invalid_numero_dossier"]


def test_where_to_find_the_number_offers_the_other_routes(domain: dict) -> None:
    variants = domain["responses"]["utter_where_is_request_number"]
    text = variants[0]["text"]
    assert "accusé d'enregistrement" in text
    assert "Mes démarches" in text
    payloads = [button["payload"] for button in variants[0]["buttons"]]
    assert payloads == ["/check_status", "/ask_human", "/help"]
    assert any(v.get("channel") == "voice" for v in variants)


def leave(domain: dict, text: str, intent: str, requested: str) -> list:
    tracker = make_tracker(
        {"requested_slot": requested, "numero_dossier": None}, text=text, active_loop=FORM
    )
    tracker.latest_message["intent"] = {"name": intent, "confidence": 0.9}
    action = ActionLeaveDossierForm()
    return asyncio.run(action.run(CollectingDispatcher(), tracker, sent(action, domain)))


def test_a_change_of_mind_leaves_the_form_and_hands_the_message_back(domain: dict) -> None:
    events = leave(domain, "en fait je veux vendre ma voiture", "sell_vehicle", "numero_dossier")
    assert events[0] == ActiveLoop(None)
    assert SlotSet("requested_slot", None) in events
    assert SlotSet("numero_dossier", None) in events
    assert events[-2] == ActionExecuted("action_listen")
    again = events[-1]
    assert again["event"] == UserUttered("x")["event"]
    assert again["text"] == "en fait je veux vendre ma voiture"
    assert again["parse_data"]["intent"]["name"] == "sell_vehicle"


def test_a_plate_in_a_change_of_mind_is_not_taken_for_the_number(domain: dict) -> None:
    events = leave(domain, "je veux vendre ma voiture AB123CD", "sell_vehicle", "numero_dossier")
    assert events[0] == ActiveLoop(None)


@pytest.mark.parametrize(
    ("text", "requested"),
    [("26 11 000 002", "numero_dossier"), ("le 4 juillet 61", "date_naissance")],
)
def test_an_answer_taken_for_another_intent_goes_to_the_form(
    domain: dict, text: str, requested: str
) -> None:
    events = leave(domain, text, "fees_question", requested)
    assert events == [SlotSet(requested, text), FollowupAction(FORM)]


def test_give_the_number_again_forgets_it(domain: dict) -> None:
    action = ActionForgetDossierNumber()
    tracker = make_tracker({"numero_dossier": "2611000002"})
    events = asyncio.run(action.run(CollectingDispatcher(), tracker, sent(action, domain)))
    assert SlotSet("numero_dossier", None) in events
    assert SlotSet("date_naissance", None) in events


def test_not_found_keeps_the_number_and_asks_the_date_again(domain: dict) -> None:
    messages, events = run_action(domain, lambda request: httpx.Response(404, json={"detail": "x"}))
    assert [m["response"] for m in messages] == ["utter_dossier_not_found"]
    # The number is kept; the rule "a dossier not found" starts the form for the date.
    assert events == [SlotSet("date_naissance", None), SlotSet("dossier_introuvable", True)]
    variants = domain["responses"]["utter_dossier_not_found"]
    assert "Vérifions la date" in variants[0]["text"]
    assert [b["payload"] for b in variants[0]["buttons"]] == ["/give_number_again", "/ask_human"]


def test_a_form_ended_without_a_number_looks_nothing_up(domain: dict) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no lookup without a number")

    tracker: Tracker = make_tracker({"numero_dossier": None, "date_naissance": None})
    messages, events = run_action(domain, refuse, tracker)
    assert (messages, events) == ([], [SlotSet("dossier_introuvable", False)])


def test_today_is_used_for_the_century(domain: dict) -> None:
    # 2011 makes a person of 15 today or later: "11" is asked in full, whatever the year.
    assert date.today().year >= 2026
    _, said = form_turn(domain, {"date_naissance": "12/03/11"}, slots={"numero_dossier": "1"})
    assert said == ["utter_birth_year_in_full"]
