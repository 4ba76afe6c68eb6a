"""POST /chat/tts: the door reads an answer aloud through the voice gateway, holding its token.

The gateway is a stand-in (an httpx transport) that checks the token and the body; the browser
only ever holds its conversation cookie.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.chat_door import DoorMessages
from api.routers import chat
from tests.api.conftest import TOKENS, door_client

# The door's words, as the domain says them (assistant/domain/porte.yml).
SAID = DoorMessages().texts
TTS_NO_CONVERSATION = SAID[chat.TTS_NO_CONVERSATION]
TTS_TOO_FAST = SAID[chat.TTS_TOO_FAST]
TTS_TOO_LONG = SAID[chat.TTS_TOO_LONG]
TTS_UNAVAILABLE = SAID[chat.TTS_UNAVAILABLE]
VOICE_URL = "http://voice.test:2700"
VOICE_TOKEN = "voice-web-token-for-tests-0007"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28)


class StandInGateway:
    """Answers like the gateway's POST /tts, and only with its token."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.down = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.host == "voice.test", f"unexpected call to {request.url}"
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        self.requests.append(request)
        if request.headers.get("Authorization") != f"Bearer {VOICE_TOKEN}":
            return httpx.Response(401, json={"error": "unauthorized"})
        return httpx.Response(200, content=WAV, headers={"Content-Type": "audio/wav"})


@pytest.fixture
def gateway() -> StandInGateway:
    return StandInGateway()


def _client(
    gateway: StandInGateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str
) -> Iterator[TestClient]:
    settings = {
        "GUICHET_VOICE_URL": VOICE_URL,
        "GUICHET_VOICE_WEB_TOKEN": VOICE_TOKEN,
        "GUICHET_CHAT_PER_CONVERSATION_PER_MINUTE": "3",
        **env,
    }
    with door_client(tmp_path, monkeypatch, httpx.MockTransport(gateway), **settings) as client:
        yield client


@pytest.fixture
def door(
    gateway: StandInGateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    yield from _client(gateway, tmp_path, monkeypatch)


def _with_conversation(client: TestClient) -> TestClient:
    assert client.post("/chat/new").status_code == 204  # the server sets the signed cookie
    return client


def test_without_a_conversation_cookie_the_door_refuses(
    door: TestClient, gateway: StandInGateway
) -> None:
    response = door.post("/chat/tts", json={"text": "Bonjour", "slow": False})
    assert response.status_code == 403
    assert response.json() == {"detail": TTS_NO_CONVERSATION}
    door.cookies.set("guichet_conversation", "forged.value")
    assert door.post("/chat/tts", json={"text": "Bonjour"}).status_code == 403
    assert gateway.requests == []


def test_a_too_long_text_is_refused_in_french(door: TestClient, gateway: StandInGateway) -> None:
    _with_conversation(door)
    response = door.post("/chat/tts", json={"text": "a" * 601, "slow": False})
    assert response.status_code == 413
    assert response.json() == {"detail": TTS_TOO_LONG}
    assert gateway.requests == []
    empty = door.post("/chat/tts", json={"text": " \u200b ", "slow": False})
    assert empty.status_code == 400
    assert gateway.requests == []


def test_the_text_is_forwarded_with_the_token_and_the_audio_returned(
    door: TestClient, gateway: StandInGateway
) -> None:
    _with_conversation(door)
    response = door.post("/chat/tts", json={"text": "Votre dossier\u200b est prêt.", "slow": True})
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    assert response.content == WAV
    [sent] = gateway.requests
    assert sent.url == f"{VOICE_URL}/tts"
    assert json.loads(sent.content) == {"text": "Votre dossier est prêt.", "slow": True}
    # The chat token (to Rasa) never goes to the gateway.
    assert TOKENS["GUICHET_CHAT_TOKEN"] not in sent.headers.get("Authorization", "")


def test_a_gateway_that_is_down_gives_503_in_french(
    door: TestClient, gateway: StandInGateway
) -> None:
    _with_conversation(door)
    gateway.down = True
    response = door.post("/chat/tts", json={"text": "Bonjour", "slow": False})
    assert response.status_code == 503
    assert response.json() == {"detail": TTS_UNAVAILABLE}


def test_a_wrong_token_or_no_gateway_configured_gives_503(
    gateway: StandInGateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for env in ({"GUICHET_VOICE_WEB_TOKEN": "not-the-token"}, {"GUICHET_VOICE_URL": ""}):
        for client in _client(gateway, tmp_path, monkeypatch, **env):
            _with_conversation(client)
            response = client.post("/chat/tts", json={"text": "Bonjour", "slow": False})
            assert response.status_code == 503, env
            assert response.json() == {"detail": TTS_UNAVAILABLE}


def test_readings_are_limited_per_conversation(door: TestClient, gateway: StandInGateway) -> None:
    _with_conversation(door)
    for _ in range(3):
        assert door.post("/chat/tts", json={"text": "Bonjour"}).status_code == 200
    refused = door.post("/chat/tts", json={"text": "Bonjour"})
    assert refused.status_code == 429
    assert refused.json() == {"detail": TTS_TOO_FAST}
    assert int(refused.headers["Retry-After"]) >= 1
    assert len(gateway.requests) == 3
    # A new conversation has its own budget.
    _with_conversation(door)
    assert door.post("/chat/tts", json={"text": "Bonjour"}).status_code == 200
