"""The kiosk's and web pages' voice: `POST /tts` (read an answer aloud) and the `/ws` microphone.

`/ws` protocol (one socket = one conversation, channel "kiosk"):
  1. the client sends one JSON text frame: {"sample_rate": 16000} (optional "slow": true,
     and "token" when the gateway has one);
  2. then binary frames of 16 kHz 16-bit little-endian mono PCM (at most MAX_FRAME_BYTES each);
     a JSON text frame {"type": "slow", "slow": true|false} changes the speaking rate;
  3. the server answers with JSON text frames {"type": "ready"}, {"type": "transcript", "text",
     "confidence", "in_vocabulary"}, {"type": "answer", "text", "buttons": [{"title",
     "payload"}]}, and, after each answer, one binary frame: its speech, 16 kHz PCM.
Bad input gets {"type": "error", "code", "message"} (message in French, for the page) and a
close code: 1008 bad token, 1003 wrong sample rate / garbage / odd PCM, 1009 frame too big,
1011 speech recognition off. A broken socket never touches the others.
"""

from __future__ import annotations

import hmac
import io
import json
import logging
import uuid
import wave
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from voice.stages import (
    PCM_RATE,
    SAMPLE_WIDTH,
    BotMessage,
    CallInfo,
    Dialogue,
    RecognitionStream,
    SpeechToText,
    TextToSpeech,
)

log = logging.getLogger(__name__)

MAX_TTS_CHARS = 1000  # a long answer is a few hundred characters
MAX_TTS_BODY_BYTES = 16 * 1024
MAX_FRAME_BYTES = PCM_RATE * SAMPLE_WIDTH  # one second of audio per frame at most
MAX_CONFIG_CHARS = 1024

CLOSE_POLICY = 1008  # bad or missing token
CLOSE_UNSUPPORTED = 1003  # wrong sample rate, garbage, odd-length PCM
CLOSE_TOO_BIG = 1009
CLOSE_UNAVAILABLE = 1011  # no speech recognition on this gateway


class _Refused(Exception):
    def __init__(self, close_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.close_code, self.code, self.message = close_code, code, message


def wav_bytes(pcm: bytes, rate: int = PCM_RATE) -> bytes:
    """16-bit mono PCM in a WAV container, as browsers play it."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(SAMPLE_WIDTH)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return buffer.getvalue()


def _token_ok(expected: str | None, given: Any) -> bool:
    if expected is None:
        return True
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:] if header.lower().startswith("bearer ") else None


def create_voice_web_app(
    tts: TextToSpeech, stt: SpeechToText, dialogue: Dialogue, token: str | None
) -> Starlette:
    """The ASGI app; `token` (if set) is required as `Authorization: Bearer` or in the first
    WebSocket frame (browsers cannot set headers on a WebSocket)."""

    async def speak(request: Request) -> Response:
        if not _token_ok(token, _bearer(request)):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        body = await request.body()
        if len(body) > MAX_TTS_BODY_BYTES:
            return JSONResponse({"error": "body too large"}, status_code=413)
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"error": "body must be JSON"}, status_code=422)
        if not isinstance(data, dict):
            return JSONResponse({"error": "body must be a JSON object"}, status_code=422)
        text, slow = data.get("text"), data.get("slow", False)
        if not isinstance(text, str) or not text.strip():
            return JSONResponse({"error": "'text' must be a non-empty string"}, status_code=422)
        if not isinstance(slow, bool):
            return JSONResponse({"error": "'slow' must be true or false"}, status_code=422)
        if len(text) > MAX_TTS_CHARS:
            msg = f"'text' is longer than {MAX_TTS_CHARS} characters"
            return JSONResponse({"error": msg}, status_code=413)
        pcm = await tts.synthesize(text, slow=slow)
        return Response(wav_bytes(pcm), media_type="audio/wav")

    async def microphone(websocket: WebSocket) -> None:
        await websocket.accept()
        stream: RecognitionStream | None = None
        try:
            slow = await _configure(websocket, token)
            if not stt.available:
                raise _Refused(
                    CLOSE_UNAVAILABLE,
                    "speech_unavailable",
                    "La reconnaissance vocale n'est pas disponible ici : écrivez votre question.",
                )
            stream = stt.open_stream()
            call = CallInfo(call_id=f"kiosk-{uuid.uuid4().hex}", channel="kiosk")
            await websocket.send_json({"type": "ready"})
            await _converse(websocket, stream, call, slow)
        except _Refused as refused:
            log.info("voice socket refused: %s (%s)", refused.code, refused)
            await _refuse(websocket, refused)
        except WebSocketDisconnect:
            pass
        finally:
            if stream is not None:
                await stream.close()

    async def _converse(
        websocket: WebSocket, stream: RecognitionStream, call: CallInfo, slow: bool
    ) -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                slow = _rate_change(message["text"], slow)
                continue
            pcm = message.get("bytes") or b""
            if len(pcm) > MAX_FRAME_BYTES:
                raise _Refused(
                    CLOSE_TOO_BIG,
                    "frame_too_big",
                    f"Morceau audio trop long (plus de {MAX_FRAME_BYTES} octets).",
                )
            if len(pcm) % SAMPLE_WIDTH:
                raise _Refused(
                    CLOSE_UNSUPPORTED, "bad_audio", "Audio attendu : PCM 16 bits, 16 kHz, mono."
                )
            utterance = await stream.feed(pcm)
            if utterance is None:
                continue
            await websocket.send_json(
                {
                    "type": "transcript",
                    "text": utterance.text,
                    "confidence": utterance.confidence,
                    "in_vocabulary": utterance.in_vocabulary,
                }
            )
            if utterance.text.strip() and utterance.in_vocabulary:
                try:
                    answers = await dialogue.send(call, utterance.text)
                except Exception:  # the assistant is down: say so, keep the socket
                    log.exception("dialogue failed for %s", call.call_id)
                    await websocket.send_json(
                        {
                            "type": "error",
                            "code": "dialogue_unavailable",
                            "message": "L'assistant ne répond pas pour le moment. Réessayez.",
                        }
                    )
                    continue
                for answer in answers:
                    await _answer(websocket, stream, answer, slow)

    async def _answer(
        websocket: WebSocket, stream: RecognitionStream, answer: BotMessage, slow: bool
    ) -> None:
        stream.expect(answer.expectation)
        buttons = [{"title": b.title, "payload": b.payload} for b in answer.buttons]
        await websocket.send_json({"type": "answer", "text": answer.text, "buttons": buttons})
        pcm = await tts.synthesize(answer.text, slow=slow)
        if pcm:
            await websocket.send_bytes(pcm)

    return Starlette(
        routes=[
            Route("/tts", speak, methods=["POST"]),
            WebSocketRoute("/ws", microphone),
        ]
    )


async def _configure(websocket: WebSocket, token: str | None) -> bool:
    """Read and check the first frame; returns whether the client asked for the slow voice."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    config: Any = None
    if text is not None and len(text) <= MAX_CONFIG_CHARS:
        try:
            config = json.loads(text)
        except ValueError:
            config = None
    if not isinstance(config, dict):
        raise _Refused(
            CLOSE_UNSUPPORTED,
            "bad_config",
            'Premier message attendu : {"sample_rate": 16000} en JSON.',
        )
    if not _token_ok(token, config.get("token")):
        raise _Refused(CLOSE_POLICY, "unauthorized", "Accès refusé.")
    rate = config.get("sample_rate")
    if rate != PCM_RATE or isinstance(rate, bool):
        raise _Refused(
            CLOSE_UNSUPPORTED,
            "bad_sample_rate",
            f"Fréquence d'échantillonnage attendue : {PCM_RATE} Hz (reçu : {rate!r}).",
        )
    slow = config.get("slow", False)
    return slow if isinstance(slow, bool) else False


def _rate_change(text: str, slow: bool) -> bool:
    try:
        data = json.loads(text) if len(text) <= MAX_CONFIG_CHARS else None
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("type") == "slow" and isinstance(data.get("slow"), bool):
        return data["slow"]
    raise _Refused(
        CLOSE_UNSUPPORTED,
        "bad_message",
        "Message non compris : envoyez l'audio en binaire (PCM 16 bits, 16 kHz).",
    )


async def _refuse(websocket: WebSocket, refused: _Refused) -> None:
    try:
        await websocket.send_json(
            {"type": "error", "code": refused.code, "message": refused.message}
        )
        await websocket.close(code=refused.close_code, reason=refused.code)
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client has gone already
