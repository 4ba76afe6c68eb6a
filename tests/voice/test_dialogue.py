"""RasaDialogue: what it sends Rasa's voice channel, what it makes of the answer, and Rasa down."""

import asyncio
import json
import sqlite3
from pathlib import Path

import httpx

from voice.dialogue import RasaDialogue, caller_hash
from voice.prompts import VoicePrompts
from voice.stages import BotMessage, Button, CallInfo, Expectation

PROMPTS = VoicePrompts.load()
CALL = CallInfo("c4f1", "phone", masked_caller="06 •• •• •• 78", extra={"caller": "0612345678"})


def test_a_message_goes_with_the_token_the_call_id_and_no_full_number() -> None:
    sent: list[httpx.Request] = []

    def rasa(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(
            200,
            json={
                "messages": [
                    {"text": "Je ne trouve pas.", "buttons": []},
                    {"text": "Voulez-vous ?", "buttons": [{"title": "Oui", "payload": "/affirm"}]},
                ],
                "expects": "yes_no",
                "slow": True,
            },
        )

    async def main() -> list[BotMessage]:
        dialogue = RasaDialogue(
            "http://rasa:5005/", "voice-token", PROMPTS, transport=httpx.MockTransport(rasa)
        )
        try:
            return await dialogue.send(CALL, "2611000002", keyed=True)
        finally:
            await dialogue.close()

    answers = asyncio.run(main())
    [request] = sent
    assert request.url == "http://rasa:5005/webhooks/voice/webhook"
    assert request.headers["Authorization"] == "Bearer voice-token"
    body = json.loads(request.content)
    assert body == {
        "sender": "c4f1",
        "message": "2611000002",
        "keyed": True,
        "metadata": {
            "door": "phone",
            "caller": "06 •• •• •• 78",
            "asker": caller_hash("voice-token", "0612345678"),
        },
    }
    assert "0612345678" not in request.content.decode()
    assert answers == [
        BotMessage("Je ne trouve pas.", slow=True),
        BotMessage("Voulez-vous ?", (Button("Oui", "/affirm"),), Expectation.YES_NO, slow=True),
    ]


def test_rasa_down_or_confused_is_said_in_french_and_the_call_goes_on() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def confused(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=["not", "the", "voice", "channel"])

    def failing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"error": "message failed"})

    unreachable = [BotMessage(PROMPTS.text("utter_voice_unreachable"))]
    for handler in (down, confused, failing):

        async def main(handler=handler) -> list[BotMessage]:
            dialogue = RasaDialogue(
                "http://rasa:5005", "t", PROMPTS, transport=httpx.MockTransport(handler)
            )
            try:
                return await dialogue.send(CALL, "bonjour")
            finally:
                await dialogue.close()

        assert asyncio.run(main()) == unreachable
    assert "joindre l'assistant" in unreachable[0].text


def test_an_erasure_asked_deletes_the_conversation_and_the_call_goes_on_in_a_new_one(
    tmp_path: Path,
) -> None:
    database = tmp_path / "rasa_tracker.db"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT,"
                   " timestamp REAL, intent_name TEXT, action_name TEXT, data TEXT)")  # fmt: skip
        db.executemany(
            "INSERT INTO events (sender_id, type_name, data) VALUES (?, 'user', '{}')",
            [("c4f1",), ("c4f1",), ("another-call",)],
        )
    senders: list[str] = []

    def rasa(request: httpx.Request) -> httpx.Response:
        senders.append(json.loads(request.content)["sender"])
        forget = len(senders) == 1
        return httpx.Response(200, json={"messages": [{"text": "C'est fait."}], "forget": forget})

    async def main() -> None:
        dialogue = RasaDialogue(
            "http://rasa",
            "t",
            PROMPTS,
            transport=httpx.MockTransport(rasa),
            tracker_db_url=f"sqlite:///{database}",
        )
        try:
            assert await dialogue.send(CALL, "effacez ma conversation") == [
                BotMessage("C'est fait.")
            ]
            await dialogue.send(CALL, "bonjour")
        finally:
            await dialogue.close()

    asyncio.run(main())
    with sqlite3.connect(database) as db:
        left = [row[0] for row in db.execute("SELECT sender_id FROM events")]
    assert left == ["another-call"]
    assert senders[0] == "c4f1"
    assert senders[1].startswith("c4f1-") and len(senders[1]) > 10
