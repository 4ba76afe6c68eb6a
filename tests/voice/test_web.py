"""voice/web.py: /tts and the /ws microphone, with fakes of the other stages."""

from __future__ import annotations

import io
import wave
from collections import deque

import numpy as np
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from voice.fakes.speech_out import ToneSpeech
from voice.stages import (
    FRAME_BYTES,
    PCM_RATE,
    BotMessage,
    Button,
    CallInfo,
    Expectation,
    Utterance,
)
from voice.web import MAX_FRAME_BYTES, MAX_TTS_CHARS, create_voice_web_app

SPEECH = (8000 * np.sin(np.arange(FRAME_BYTES // 2) / 5)).astype("<i2").tobytes()
SILENCE = bytes(FRAME_BYTES)


class BurstRecogniser:
    """Local double (voice/fakes/speech_in.py lives on branch voice-stt): a silent frame after
    speech ends an utterance, which is the next line of the script."""

    def __init__(self, script, available=True):
        self.available = available
        self.script = deque(script)
        self.streams = []

    def open_stream(self):
        stream = BurstStream(self)
        self.streams.append(stream)
        return stream


class BurstStream:
    def __init__(self, recogniser):
        self.recogniser = recogniser
        self.speaking = False
        self.expectations = []
        self.closed = False

    def expect(self, expectation):
        self.expectations.append(expectation)

    def speech_started(self):
        return self.speaking

    async def feed(self, pcm):
        if any(pcm):
            self.speaking = True
            return None
        if not self.speaking:
            return None
        self.speaking = False
        line = self.recogniser.script.popleft()
        return line if isinstance(line, Utterance) else Utterance(line, 1.0)

    async def close(self):
        self.closed = True


class EchoDialogue:
    """Answers 'Vous avez dit : …' with two buttons, and remembers who said what."""

    def __init__(self, fail=False):
        self.received: list[tuple[CallInfo, str]] = []
        self.fail = fail

    async def send(self, call, text):
        if self.fail:
            raise ConnectionError("Rasa is down")
        self.received.append((call, text))
        buttons = (Button("Oui", "/affirm"), Button("Non", "/deny"))
        return [BotMessage(f"Vous avez dit : {text}", buttons, Expectation.YES_NO)]


def _client(script=(), *, token=None, available=True, dialogue=None, tts=None):
    app = create_voice_web_app(
        tts or ToneSpeech(),
        BurstRecogniser(script, available),
        dialogue or EchoDialogue(),
        token,
    )
    return TestClient(app)


def _speak(ws):
    ws.send_bytes(SPEECH)
    ws.send_bytes(SPEECH)
    ws.send_bytes(SILENCE)


# --- /tts ----------------------------------------------------------------------------------


def test_tts_returns_a_16_khz_wav_of_the_text():
    tts = ToneSpeech()
    with _client(tts=tts) as client:
        response = client.post("/tts", json={"text": "Bonjour", "slow": True})
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (PCM_RATE, 1, 2)
        assert wav.readframes(wav.getnframes()) == tts.render("Bonjour", slow=True)
    assert tts.calls == [("Bonjour", True)]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 422),
        (b"[1, 2]", 422),
        (b'{"slow": false}', 422),
        (b'{"text": "   "}', 422),
        (b'{"text": 12}', 422),
        (b'{"text": "Bonjour", "slow": "yes"}', 422),
        (('{"text": "' + "a" * (MAX_TTS_CHARS + 1) + '"}').encode(), 413),
        (b'{"text": "' + b"a" * 20_000 + b'"}', 413),
    ],
)
def test_tts_refuses_bad_input(body, status):
    tts = ToneSpeech()
    with _client(tts=tts) as client:
        response = client.post("/tts", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert "error" in response.json()
    assert tts.calls == []


def test_tts_needs_the_token_when_there_is_one():
    with _client(token="s3cret") as client:
        assert client.post("/tts", json={"text": "Bonjour"}).status_code == 401
        wrong = {"authorization": "Bearer nope"}
        assert client.post("/tts", json={"text": "Bonjour"}, headers=wrong).status_code == 401
        right = {"authorization": "Bearer s3cret"}
        assert client.post("/tts", json={"text": "Bonjour"}, headers=right).status_code == 200


# --- /ws -----------------------------------------------------------------------------------


def test_microphone_conversation_transcript_answer_and_audio():
    dialogue, tts = EchoDialogue(), ToneSpeech()
    recogniser = BurstRecogniser(["oui", "non"])
    app = create_voice_web_app(tts, recogniser, dialogue, None)
    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        ws.send_json({"sample_rate": 16000})
        assert ws.receive_json() == {"type": "ready"}
        _speak(ws)
        assert ws.receive_json() == {
            "type": "transcript",
            "text": "oui",
            "confidence": 1.0,
            "in_vocabulary": True,
        }
        assert ws.receive_json() == {
            "type": "answer",
            "text": "Vous avez dit : oui",
            "buttons": [
                {"title": "Oui", "payload": "/affirm"},
                {"title": "Non", "payload": "/deny"},
            ],
        }
        assert ws.receive_bytes() == tts.render("Vous avez dit : oui")
        ws.send_json({"type": "slow", "slow": True})
        _speak(ws)
        assert ws.receive_json()["text"] == "non"
        assert ws.receive_json()["type"] == "answer"
        assert ws.receive_bytes() == tts.render("Vous avez dit : non", slow=True)
    calls = {call.call_id for call, _ in dialogue.received}
    assert len(calls) == 1 and next(iter(calls)).startswith("kiosk-")
    assert [call.channel for call, _ in dialogue.received] == ["kiosk", "kiosk"]
    # The recogniser is told what the answer expects (a yes or no here), and closed at the end.
    (stream,) = recogniser.streams
    assert stream.expectations == [Expectation.YES_NO, Expectation.YES_NO] and stream.closed


def test_untrusted_transcript_does_not_reach_the_dialogue():
    dialogue = EchoDialogue()
    doubt = Utterance("ouais bof", 0.2, in_vocabulary=False)
    with (
        _client([doubt, "oui"], dialogue=dialogue) as client,
        client.websocket_connect("/ws") as ws,
    ):
        ws.send_json({"sample_rate": 16000})
        ws.receive_json()
        _speak(ws)
        assert ws.receive_json()["in_vocabulary"] is False
        _speak(ws)
        assert ws.receive_json()["text"] == "oui"
        assert ws.receive_json()["type"] == "answer"
    assert [text for _, text in dialogue.received] == ["oui"]


def _refused(ws) -> tuple[dict, int]:
    error = ws.receive_json()
    with pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    return error, closed.value.code


@pytest.mark.parametrize(
    ("first", "code", "close_code"),
    [
        ({"sample_rate": 8000}, "bad_sample_rate", 1003),
        ({"sample_rate": "16000"}, "bad_sample_rate", 1003),
        ({"rate": 16000}, "bad_sample_rate", 1003),
        ("garbage{", "bad_config", 1003),
        (b"\x00\x01", "bad_config", 1003),
    ],
)
def test_wrong_first_frame_is_refused_with_a_clear_error(first, code, close_code):
    with _client() as client, client.websocket_connect("/ws") as ws:
        if isinstance(first, dict):
            ws.send_json(first)
        elif isinstance(first, bytes):
            ws.send_bytes(first)
        else:
            ws.send_text(first)
        error, closed_with = _refused(ws)
    assert error["type"] == "error" and error["code"] == code and error["message"]
    assert closed_with == close_code


@pytest.mark.parametrize(
    ("frame", "code", "close_code"),
    [
        (b"\x00" * (MAX_FRAME_BYTES + 2), "frame_too_big", 1009),
        (b"\x01\x02\x03", "bad_audio", 1003),
        ("not json", "bad_message", 1003),
        ('{"type": "slow", "slow": "oui"}', "bad_message", 1003),
    ],
)
def test_garbage_after_the_start_is_refused(frame, code, close_code):
    with _client() as client, client.websocket_connect("/ws") as ws:
        ws.send_json({"sample_rate": 16000})
        assert ws.receive_json()["type"] == "ready"
        if isinstance(frame, bytes):
            ws.send_bytes(frame)
        else:
            ws.send_text(frame)
        error, closed_with = _refused(ws)
    assert (error["code"], closed_with) == (code, close_code)


def test_token_is_required_in_the_first_frame_when_set():
    with _client(["oui"], token="s3cret") as client, client.websocket_connect("/ws") as ws:
        ws.send_json({"sample_rate": 16000, "token": "nope"})
        error, closed_with = _refused(ws)
        assert (error["code"], closed_with) == ("unauthorized", 1008)
        with client.websocket_connect("/ws") as ws:
            ws.send_json({"sample_rate": 16000, "token": "s3cret"})
            assert ws.receive_json() == {"type": "ready"}


def test_without_speech_recognition_the_page_is_told_in_french():
    with _client(available=False) as client, client.websocket_connect("/ws") as ws:
        ws.send_json({"sample_rate": 16000})
        error, closed_with = _refused(ws)
    assert error["code"] == "speech_unavailable" and "écrivez" in error["message"]
    assert closed_with == 1011


def test_a_broken_socket_does_not_affect_another():
    recogniser = BurstRecogniser(["oui"])
    app = create_voice_web_app(ToneSpeech(), recogniser, EchoDialogue(), None)
    with (
        TestClient(app) as client,
        client.websocket_connect("/ws") as good,
        client.websocket_connect("/ws") as bad,
    ):
        good.send_json({"sample_rate": 16000})
        assert good.receive_json()["type"] == "ready"
        bad.send_json({"sample_rate": 16000})
        assert bad.receive_json()["type"] == "ready"
        bad.send_bytes(b"\x00" * (MAX_FRAME_BYTES + 2))
        assert _refused(bad)[1] == 1009
        _speak(good)
        assert good.receive_json()["text"] == "oui"
        assert good.receive_json()["type"] == "answer"
        assert len(good.receive_bytes()) > 0
    assert all(stream.closed for stream in recogniser.streams)


def test_dialogue_down_is_an_error_event_and_the_socket_stays():
    with (
        _client(["oui", "non"], dialogue=EchoDialogue(fail=True)) as client,
        client.websocket_connect("/ws") as ws,
    ):
        ws.send_json({"sample_rate": 16000})
        ws.receive_json()
        _speak(ws)
        assert ws.receive_json()["type"] == "transcript"
        assert ws.receive_json()["code"] == "dialogue_unavailable"
        _speak(ws)
        assert ws.receive_json()["text"] == "non"
