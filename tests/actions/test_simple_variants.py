"""\"Plus simple\" / \"je n'ai pas compris\": the last answer again, in its simpler wording."""

import asyncio
import string

import pytest
from rasa_sdk.executor import CollectingDispatcher

from assistant.actions.accessibility import ActionRepeatLast
from tests.actions.conftest import make_tracker, sent

SIMPLE = [{"type": "slot", "name": "simple_mode", "value": True}]
# The answers a person may not understand first: the status, the status form's questions,
# "not found", and the check's questions (documents and conditions). Each has a variation for
# simple_mode.
MUST_HAVE_A_SIMPLE_VARIANT_PREFIXES = (
    "utter_status_",
    "utter_ask_checklist_form_piece_",
    "utter_ask_checklist_form_condition_",
)
MUST_HAVE_A_SIMPLE_VARIANT = (
    "utter_ask_dossier_status_form_numero_dossier",
    "utter_ask_dossier_status_form_date_naissance",
    "utter_dossier_not_found",
    "utter_where_is_request_number",
    "utter_invalid_date_naissance",
)


def simple_variants(variations: list[dict]) -> list[dict]:
    return [v for v in variations if v.get("condition") == SIMPLE and not v.get("channel")]


def names_needing_a_simple_variant(domain: dict) -> list[str]:
    return sorted(
        name
        for name in domain["responses"]
        if name.startswith(MUST_HAVE_A_SIMPLE_VARIANT_PREFIXES)
        or name in MUST_HAVE_A_SIMPLE_VARIANT
    )


def test_the_status_answers_are_found(domain: dict) -> None:
    statuses = [n for n in names_needing_a_simple_variant(domain) if n.startswith("utter_status_")]
    assert len(statuses) >= 10, statuses


def test_the_check_questions_about_documents_are_found(domain: dict) -> None:
    pieces = [n for n in names_needing_a_simple_variant(domain) if "_piece_" in n]
    assert len(pieces) >= 30, pieces


def test_a_simple_check_question_is_plainer_with_the_same_buttons(domain: dict) -> None:
    variations = domain["responses"]["utter_ask_checklist_form_piece_photo_signature"]
    default, simple = variations[0], simple_variants(variations)[0]
    assert "photo-signature" in default["text"] and "photo-signature" not in simple["text"]
    assert simple["buttons"] == default["buttons"]
    voice = [v for v in variations if v.get("channel") == "voice" and v.get("condition")]
    assert voice and voice[0]["text"].startswith(simple["text"])


def test_every_status_answer_and_form_question_has_a_simple_variant(domain: dict) -> None:
    lacking = [
        name
        for name in names_needing_a_simple_variant(domain)
        if not simple_variants(domain["responses"][name])
    ]
    assert not lacking, f"no simple_mode variation for: {lacking}"


@pytest.mark.parametrize("name", ["utter_status_incomplet", "utter_dossier_not_found"])
def test_a_simple_variant_is_shorter_and_needs_no_other_value(domain: dict, name: str) -> None:
    default = domain["responses"][name][0]
    simple = simple_variants(domain["responses"][name])[0]
    assert len(simple["text"]) < len(default["text"])
    fields = {f for _, f, _, _ in string.Formatter().parse(simple["text"]) if f}
    assert fields <= {f for _, f, _, _ in string.Formatter().parse(default["text"]) if f}
    assert simple.get("buttons") == default.get("buttons")


def repeat(domain: dict, events: list[dict], intent: str = "simpler") -> list[dict]:
    tracker = make_tracker({"simple_mode": True})
    tracker.latest_message["intent"] = {"name": intent}
    tracker.events = events
    dispatcher = CollectingDispatcher()
    action = ActionRepeatLast()
    asyncio.run(action.run(dispatcher, tracker, sent(action, domain)))
    return dispatcher.messages


def bot(response: str | None, text: str = "…", **values: object) -> dict:
    metadata = {"utter_action": response, **values} if response else {}
    return {"event": "bot", "text": text, "data": {}, "metadata": metadata}


def test_the_status_is_said_again_by_name_with_its_values(domain: dict) -> None:
    events = [
        {"event": "user", "text": "26 11 000 002"},
        bot("utter_dossier_demarche", demarche="renouvellement du permis", template="x"),
        bot("utter_status_incomplet", depuis="18/11/2026", channel="chat", id=None),
        {"event": "user", "text": "plus simple"},
        bot("utter_ok_simpler"),
    ]
    messages = repeat(domain, events)
    assert [m["response"] for m in messages] == ["utter_dossier_demarche", "utter_status_incomplet"]
    assert messages[0]["demarche"] == "renouvellement du permis"
    assert messages[1]["depuis"] == "18/11/2026"
    # What Rasa records besides the values is not sent back as one.
    assert messages[0].get("template") in (None, "utter_dossier_demarche")
    assert "channel" not in messages[1] and "id" not in messages[1]


def test_a_message_without_a_response_name_is_sent_as_it_was(domain: dict) -> None:
    messages = repeat(domain, [{"event": "user"}, bot(None, "Texte libre."), {"event": "user"}])
    assert [m["text"] for m in messages] == ["Texte libre."]


def test_simpler_before_anything_was_said_only_acknowledges(domain: dict) -> None:
    assert repeat(domain, [{"event": "user", "text": "plus simple"}]) == []
    assert [m["response"] for m in repeat(domain, [{"event": "user"}], intent="repeat")] == [
        "utter_nothing_to_repeat"
    ]
