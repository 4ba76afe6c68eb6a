"""The chat door in front of several Rasa replicas (GUICHET_RASA_URL with commas).

Each conversation keeps to one replica, the same from every API worker; a replica that cannot
be reached is skipped; a message a replica may have handled is never sent twice.
"""

import asyncio
import json
from collections import Counter

import httpx
import pytest

from api.chat_door import ChatDoor, RasaUnavailable, rasa_urls, replica_order
from api.config import Settings
from tests.api.conftest import TOKENS

REPLICAS = "http://rasa-a:5005, http://rasa-b:5005/ ,http://rasa-c:5005"


class Replicas:
    """Stands in for three Rasa replicas; records which one got each conversation's messages."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []
        self.down: set[str] = set()
        self.broken_mid_answer: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        assert request.url.path == "/webhooks/chat/webhook"
        assert request.headers["Authorization"] == f"Bearer {TOKENS['GUICHET_CHAT_TOKEN']}"
        if host in self.down:
            raise httpx.ConnectError("connection refused", request=request)
        self.received.append((host, json.loads(request.content)["sender"]))
        if host in self.broken_mid_answer:
            raise httpx.ReadError("connection reset", request=request)
        return httpx.Response(200, json=[{"text": f"réponse de {host}"}])


def door(replicas: Replicas) -> ChatDoor:
    settings = Settings(
        rasa_url=REPLICAS,
        chat_token=TOKENS["GUICHET_CHAT_TOKEN"],
        cookie_key=TOKENS["GUICHET_COOKIE_KEY"],
        redis_url="",
    )
    return ChatDoor(settings, transport=httpx.MockTransport(replicas))


def send(chat_door: ChatDoor, conversations: list[str]) -> list[list[dict]]:
    async def all_messages() -> list[list[dict]]:
        try:
            return [await chat_door.forward(c, "bonjour", "asker") for c in conversations]
        finally:
            await chat_door.close()

    return asyncio.run(all_messages())


def test_urls_are_read_from_one_setting():
    assert rasa_urls(REPLICAS) == ["http://rasa-a:5005", "http://rasa-b:5005", "http://rasa-c:5005"]
    assert rasa_urls("http://127.0.0.1:5005") == ["http://127.0.0.1:5005"]
    with pytest.raises(ValueError, match="GUICHET_RASA_URL"):
        rasa_urls(" , ")


def test_each_conversation_keeps_to_one_replica_and_all_replicas_get_some():
    replicas = Replicas()
    conversations = [f"conversation-{n}" for n in range(60)] * 3
    send(door(replicas), conversations)
    by_conversation: dict[str, set[str]] = {}
    for host, sender in replicas.received:
        by_conversation.setdefault(sender, set()).add(host)
    assert all(len(hosts) == 1 for hosts in by_conversation.values())
    spread = Counter(next(iter(hosts)) for hosts in by_conversation.values())
    assert set(spread) == {"rasa-a", "rasa-b", "rasa-c"}
    assert min(spread.values()) >= 10
    # Every worker process computes the same order (no per-process hash seed).
    assert replica_order("conversation-7", 3) == replica_order("conversation-7", 3)
    assert sorted(replica_order("conversation-7", 3)) == [0, 1, 2]


def test_an_unreachable_replica_is_skipped():
    replicas = Replicas()
    conversations = [f"conversation-{n}" for n in range(30)]
    send(door(replicas), conversations)
    first_choice = dict((sender, host) for host, sender in replicas.received)
    replicas.received.clear()
    replicas.down = {"rasa-a"}
    answers = send(door(replicas), conversations)
    assert all(answer[0]["text"] != "réponse de rasa-a" for answer in answers)
    moved = {sender: host for host, sender in replicas.received}
    assert set(moved) == set(conversations)
    for sender in conversations:
        # Those of the other replicas stay where they were.
        if first_choice[sender] != "rasa-a":
            assert moved[sender] == first_choice[sender]
    replicas.down = {"rasa-a", "rasa-b", "rasa-c"}
    with pytest.raises(RasaUnavailable, match="ConnectError"):
        send(door(replicas), ["conversation-1"])


def test_a_message_is_not_sent_again_after_it_reached_a_replica():
    replicas = Replicas()
    replicas.broken_mid_answer = {"rasa-a", "rasa-b", "rasa-c"}
    with pytest.raises(RasaUnavailable, match="ReadError"):
        send(door(replicas), ["conversation-1"])
    assert len(replicas.received) == 1
