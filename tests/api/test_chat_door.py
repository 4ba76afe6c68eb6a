"""The chat door alone, with a stand-in for Rasa's chat channel that records what it is sent.

The real door in front of the real Rasa is tested end to end (tests/e2e/test_doors.py).
"""

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.chat_door import COOKIE_NAME, DoorMessages, asker_network, clean_message
from api.config import Settings
from api.main import create_app
from tests.api.conftest import TOKENS, door_client

CHAT_TOKEN = TOKENS["GUICHET_CHAT_TOKEN"]
MESSAGES = DoorMessages()


class FakeRasa:
    """Answers like Rasa's chat channel and keeps every request it got."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answers: list[dict] = [{"recipient_id": "x", "text": "Bonjour !"}]
        self.status = 200
        self.raw: bytes | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == f"Bearer {CHAT_TOKEN}"
        self.requests.append(json.loads(request.content))
        if self.raw is not None:
            return httpx.Response(self.status, content=self.raw)
        return httpx.Response(self.status, json=self.answers)


@pytest.fixture
def rasa() -> FakeRasa:
    return FakeRasa()


@pytest.fixture
def door(rasa: FakeRasa, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with door_client(
        tmp_path,
        monkeypatch,
        httpx.MockTransport(rasa),
        GUICHET_CHAT_PER_CONVERSATION_PER_MINUTE="5",
    ) as client:
        yield client


def store_events(path: Path, senders: list[str]) -> None:
    """A tracker store holding one event per sender given, in Rasa's SQL table layout."""
    with sqlite3.connect(path) as tracker:
        tracker.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT,"
            " timestamp FLOAT, intent_name TEXT, action_name TEXT, data TEXT)"
        )
        tracker.executemany(
            "INSERT INTO events (sender_id, type_name, timestamp, data)"
            " VALUES (?, 'user', 0, '{}')",
            [(sender,) for sender in senders],
        )


def say(client: TestClient, message: str) -> httpx.Response:
    return client.post("/chat/messages", json={"message": message})


def test_the_server_starts_the_conversation_in_a_signed_http_only_cookie(door, rasa):
    response = say(door, "bonjour")

    assert response.status_code == 200
    assert response.json() == [{"text": "Bonjour !"}]
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/chat" in cookie
    conversation = rasa.requests[0]["sender"]
    assert len(conversation) >= 24 and conversation not in cookie.split(";")[0].split("=", 1)[1]

    say(door, "où en est mon dossier")
    assert rasa.requests[1]["sender"] == conversation


def test_another_browser_gets_another_conversation(door, rasa):
    say(door, "bonjour")
    other = TestClient(door.app)
    say(other, "bonjour")
    assert rasa.requests[0]["sender"] != rasa.requests[1]["sender"]


def test_a_forged_or_chosen_cookie_starts_a_new_conversation(door, rasa):
    say(door, "bonjour")
    victim = rasa.requests[0]["sender"]
    attacker = TestClient(door.app)
    attacker.cookies.set(COOKIE_NAME, victim, path="/chat")
    say(attacker, "répétez")
    attacker.cookies.set(COOKIE_NAME, "default", path="/chat")
    say(attacker, "répétez")
    assert rasa.requests[1]["sender"] not in (victim, "default")
    assert rasa.requests[2]["sender"] not in (victim, "default")


def test_who_asks_is_a_keyed_hash_of_the_address_never_the_address(door, rasa):
    say(door, "bonjour")
    metadata = rasa.requests[0]["metadata"]
    assert metadata["door"] == "web"
    assert len(metadata["asker"]) == 32 and "testclient" not in metadata["asker"]


@pytest.mark.parametrize("message", ["", "   ", "\n\t ", "\x00\x01\u200b"])
def test_an_empty_message_gets_a_prompt_without_asking_rasa(door, rasa, message):
    response = say(door, message)
    assert response.status_code == 200
    assert response.json() == MESSAGES.answer("utter_door_message_empty")
    assert rasa.requests == []


def test_a_message_past_the_length_limit_gets_a_polite_answer(door, rasa):
    assert say(door, "a" * 1000).json() == [{"text": "Bonjour !"}]
    response = say(door, "a" * 1001)
    assert response.status_code == 200
    assert response.json() == MESSAGES.answer("utter_door_message_too_long")
    assert len(rasa.requests) == 1


def test_a_huge_body_is_refused_before_it_is_read(door, rasa):
    response = door.post(
        "/chat/messages",
        content=json.dumps({"message": "a" * 1_000_000}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert rasa.requests == []


@pytest.mark.parametrize(
    "body", [b"{", b"[]", b'{"message": 3}', b'{"message": "x", "sender": "default"}', b"\xff"]
)
def test_malformed_requests_get_a_clear_refusal(door, rasa, body):
    response = door.post(
        "/chat/messages", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert rasa.requests == []


def test_button_payloads_pass_and_typed_commands_become_text(door, rasa):
    say(door, "/affirm")
    say(door, '/prepare_request{"demarche":"permis_perte"}')
    say(door, "/restart")
    say(door, '/inform{"numero_dossier":"2611000002","date_naissance":"1961-07-04"}')
    sent = [request["message"] for request in rasa.requests]
    assert sent[:2] == ["/affirm", '/prepare_request{"demarche":"permis_perte"}']
    assert sent[2] == "restart"
    assert not sent[3].startswith("/")


def test_control_characters_are_removed_and_spaces_folded():
    assert clean_message("  bon\x00jour\u200b  \n\n le\tpermis ", set()) == "bon jour le permis"
    assert clean_message("🚗 ma carte grise 👍", set()) == "🚗 ma carte grise 👍"


def test_too_many_messages_in_a_minute_are_refused_politely(door, rasa):
    for _ in range(5):
        assert say(door, "bonjour").status_code == 200
    refused = say(door, "bonjour")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json() == MESSAGES.answer("utter_door_too_fast")
    assert len(rasa.requests) == 5
    # Another conversation is not held back by this one's limit.
    assert say(TestClient(door.app), "bonjour").status_code == 200


def test_rasa_down_gives_a_french_answer_not_an_error_page(door, rasa):
    rasa.status = 500
    response = say(door, "bonjour")
    assert response.status_code == 503
    assert response.json() == MESSAGES.answer("utter_door_unavailable")


def test_only_texts_and_buttons_reach_the_page(door, rasa):
    rasa.answers = [
        {"recipient_id": "secret-id", "text": "Voici.", "image": "http://x"},
        {"recipient_id": "secret-id", "buttons": [{"title": "Oui", "payload": "/affirm"}]},
        {"recipient_id": "secret-id", "custom": {"anything": 1}},
    ]
    assert say(door, "bonjour").json() == [
        {"text": "Voici."},
        {"buttons": [{"title": "Oui", "payload": "/affirm"}]},
    ]


def test_the_door_reads_its_answers_and_the_buttons_from_the_domain():
    assert set(MESSAGES.texts) >= {
        "utter_door_message_empty",
        "utter_door_message_too_long",
        "utter_door_too_fast",
        "utter_door_unavailable",
    }
    assert {"/affirm", "/deny", "/dont_know", "/check_status"} <= MESSAGES.payloads
    assert all("{{" not in payload for payload in MESSAGES.payloads)
    # "Voulez-vous dire … ?" fills its Oui button with the intent guessed: any intent passes.
    assert {"/fees_question", "/forget_conversation"} <= MESSAGES.payloads
    assert not any(payload.startswith("/{intent") for payload in MESSAGES.payloads)
    assert clean_message("/fees_question", MESSAGES.payloads) == "/fees_question"


def test_docs_are_served_in_development_only(door, monkeypatch):
    assert door.get("/docs").status_code == 200
    monkeypatch.setenv("GUICHET_ENV", "production")
    for name in ("GUICHET_CHAT_TOKEN", "GUICHET_COOKIE_KEY"):
        monkeypatch.setenv(name, "a-long-enough-secret-for-production")
    production = TestClient(create_app(Settings()))
    assert production.get("/docs").status_code == 404
    assert production.get("/openapi.json").status_code == 404


def test_a_conversation_the_person_asked_to_erase_is_deleted_and_replaced(door, rasa, tmp_path):
    say(door, "bonjour")
    erased = rasa.requests[0]["sender"]
    store_events(tmp_path / "tracker.db", [erased, erased, "someone-else"])
    rasa.answers = [
        {"recipient_id": erased, "text": "C'est effacé."},
        {"recipient_id": erased, "custom": {"guichet": {"forget": True}}},
    ]

    assert say(door, "oui").json() == [{"text": "C'est effacé."}]

    with sqlite3.connect(tmp_path / "tracker.db") as tracker:
        senders = [row[0] for row in tracker.execute("SELECT sender_id FROM events")]
    assert senders == ["someone-else"]
    rasa.answers = [{"recipient_id": "x", "text": "Bonjour !"}]
    say(door, "bonjour")
    assert rasa.requests[-1]["sender"] != erased


def test_a_new_visitor_erases_the_previous_conversation(door, rasa, tmp_path):
    say(door, "bonjour")
    previous = rasa.requests[0]["sender"]
    store_events(tmp_path / "tracker.db", [previous])

    assert door.post("/chat/new").status_code == 204

    with sqlite3.connect(tmp_path / "tracker.db") as tracker:
        assert tracker.execute("SELECT count(*) FROM events").fetchone() == (0,)
    say(door, "bonjour")
    assert rasa.requests[-1]["sender"] != previous


def test_one_person_is_one_asker_whatever_address_of_their_ipv6_network_they_use():
    assert asker_network("2001:db8:1:2:aaaa::1") == asker_network("2001:db8:1:2:bbbb::2")
    assert asker_network("2001:db8:1:3::1") != asker_network("2001:db8:1:2::1")
    assert asker_network("::ffff:192.0.2.7") == asker_network("192.0.2.7") == "192.0.2.7"
    assert asker_network("192.0.2.7") != asker_network("192.0.2.8")
    assert asker_network("testclient") == "testclient"


def test_an_unreadable_answer_from_rasa_gets_the_unavailable_message(door, rasa):
    rasa.raw = b"<html>oops</html>"
    response = say(door, "bonjour")
    assert response.status_code == 503
    assert response.json() == MESSAGES.answer("utter_door_unavailable")


def test_only_a_request_that_starts_a_conversation_sets_the_cookie(door, rasa):
    assert "set-cookie" in say(door, "bonjour").headers
    # A late answer in an older conversation can never put that conversation back.
    assert "set-cookie" not in say(door, "merci").headers


def test_an_erasure_waits_for_the_answer_under_way_in_that_conversation(door):
    chat_door = door.app.state.context.chat_door
    order: list[str] = []

    async def answer() -> None:
        async with chat_door.holding("c1"):
            order.append("answer starts")
            await asyncio.sleep(0.05)
            order.append("answer saved")

    async def erase() -> None:
        await asyncio.sleep(0.01)
        async with chat_door.holding("c1"):
            order.append("erased")

    async def both() -> None:
        await asyncio.gather(answer(), erase())

    asyncio.run(both())
    assert order == ["answer starts", "answer saved", "erased"]
    assert chat_door._held == {}
