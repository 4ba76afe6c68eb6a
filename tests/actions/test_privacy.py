"""Erasing a conversation: the answer, the marker the chat door reads, a clean restart."""

import asyncio
from pathlib import Path

import yaml
from rasa_sdk.executor import CollectingDispatcher

from assistant.actions.privacy import FORGET_MARKER, ActionForgetConversation
from tests.actions.conftest import make_tracker, sent


def run(tracker, domain):  # type: ignore[no-untyped-def]
    dispatcher = CollectingDispatcher()
    action = ActionForgetConversation()
    events = asyncio.run(action.run(dispatcher, tracker, sent(action, domain)))
    return dispatcher.messages, events


def test_says_it_is_done_then_marks_the_answer_for_the_door(domain: dict) -> None:
    messages, _ = run(make_tracker({"numero_dossier": "2611000002"}), domain)
    assert [m["response"] for m in messages] == ["utter_conversation_forgotten", None]
    assert messages[1]["custom"] == {"guichet": {"forget": True}}
    assert "utter_conversation_forgotten" in domain["responses"]


def test_the_marker_is_what_the_chat_door_looks_for() -> None:
    # api/chat_door.py (wants_forgetting): key FORGET_MARKER = "guichet", `forget` exactly True.
    assert FORGET_MARKER == {"guichet": {"forget": True}}


def test_the_dialogue_restarts(domain: dict) -> None:
    tracker = make_tracker(
        {"numero_dossier": "2611000002", "dossier_bloque": True}, active_loop="checklist_form"
    )
    _, events = run(tracker, domain)
    assert events == [{"event": "restart", "timestamp": None}]


def test_the_action_is_registered_in_the_domain() -> None:
    path = Path(__file__).resolve().parents[2] / "assistant" / "domain" / "vie_privee.yml"
    domain = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert "action_forget_conversation" in domain["actions"]
    assert "forget_conversation" in domain["intents"]


def test_the_confirmation_asks_yes_or_no_on_every_channel(domain: dict) -> None:
    variations = domain["responses"]["utter_forget_conversation_confirm"]
    text = next(v for v in variations if "channel" not in v)
    assert [b["payload"] for b in text["buttons"]] == ["/affirm", "/deny"]
    voice = next(v for v in variations if v.get("channel") == "voice")
    assert "buttons" not in voice and "oui ou non" in voice["text"]
