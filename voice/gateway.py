"""The voice gateway: `python -m voice.gateway` (started by `make run`, scripts/services.py).

It answers phone calls (SIP over UDP, `sip:guichet@127.0.0.1:5060` by default) and serves the
kiosk's WebSocket microphone `/ws`, `/tts` (voice/web.py) and `/health` on the HTTP port 2700
(loopback by default; GUICHET_VOICE_WEB_TOKEN, when set, is asked of `/ws` and `/tts`).
Each call runs voice/call.py over the stages: Vosk speech recognition when a model is
installed (otherwise the keypad only, said at start in French and English), espeak-ng speech
synthesis with the fixed prompts synthesized before the first call, and Rasa's voice channel.
SIGTERM or Ctrl-C hangs up the calls and stops cleanly.

Configuration (environment): GUICHET_VOICE_SIP_HOST, GUICHET_VOICE_SIP_PORT,
GUICHET_VOICE_HOST, GUICHET_VOICE_PORT, GUICHET_RASA_URL, GUICHET_VOICE_TOKEN,
GUICHET_VOSK_MODEL, GUICHET_VOICE_SILENCE_SECONDS, GUICHET_VOICE_MAX_CALLS,
GUICHET_VOICE_WEB_TOKEN, GUICHET_TRACKER_DB_URL (to erase a conversation when asked).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from voice.call import Call, CallSettings
from voice.dialogue import RasaDialogue
from voice.prompts import VoicePrompts, said_later
from voice.stages import (
    CallTransport,
    Dialogue,
    RecognitionStream,
    SpeechToText,
    TextToSpeech,
)

logger = logging.getLogger("voice.gateway")


class ConfigError(ValueError):
    """A setting is missing or wrong; the message says which, in French and English."""


def _number(env: Mapping[str, str], name: str, default: float, kind: type = int) -> Any:
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        number = kind(value)
    except ValueError:
        number = None
    if number is None or number <= 0:
        raise ConfigError(
            f"{name}={value!r} : un nombre positif est attendu. / {name} must be a positive number."
        )
    return number


@dataclass(frozen=True)
class GatewayConfig:
    rasa_url: str
    token: str
    sip_host: str = "127.0.0.1"
    sip_port: int = 5060
    http_host: str = "127.0.0.1"
    http_port: int = 2700
    silence_seconds: float = 8.0
    max_calls: int = 40
    web_token: str | None = None  # asked of the kiosk's /ws and /tts when set
    tracker_db_url: str = ""  # to erase a conversation when the caller asks

    @property
    def sip_uri(self) -> str:
        return f"sip:guichet@{self.sip_host}:{self.sip_port}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GatewayConfig:
        env = os.environ if env is None else env
        token = env.get("GUICHET_VOICE_TOKEN", "").strip()
        if not token:
            raise ConfigError(
                "GUICHET_VOICE_TOKEN est vide : lancez `make run` (il le crée dans .env). / "
                "GUICHET_VOICE_TOKEN is empty: the gateway cannot talk to Rasa's voice channel."
            )
        return cls(
            rasa_url=env.get("GUICHET_RASA_URL", "").strip() or "http://127.0.0.1:5005",
            token=token,
            sip_host=env.get("GUICHET_VOICE_SIP_HOST", "").strip() or "127.0.0.1",
            sip_port=_number(env, "GUICHET_VOICE_SIP_PORT", 5060),
            http_host=env.get("GUICHET_VOICE_HOST", "").strip() or "127.0.0.1",
            http_port=_number(env, "GUICHET_VOICE_PORT", 2700),
            silence_seconds=_number(env, "GUICHET_VOICE_SILENCE_SECONDS", 8.0, float),
            max_calls=_number(env, "GUICHET_VOICE_MAX_CALLS", 40),
            tracker_db_url=env.get("GUICHET_TRACKER_DB_URL", "").strip(),
            web_token=env.get("GUICHET_VOICE_WEB_TOKEN", "").strip() or None,
        )


class Gateway:
    """The stages shared by every call, and what runs each call."""

    def __init__(
        self,
        config: GatewayConfig,
        prompts: VoicePrompts,
        dialogue: Dialogue,
        tts: TextToSpeech,
        stt: SpeechToText | None,
    ) -> None:
        self.config = config
        self.prompts = prompts
        self.dialogue = dialogue
        self.tts = tts
        self.stt = stt
        self.settings = CallSettings(silence_seconds=config.silence_seconds)
        self.calls = 0

    @property
    def speech(self) -> bool:
        return self.stt is not None and self.stt.available

    async def handle_call(self, transport: CallTransport) -> None:
        self.calls += 1
        logger.info("call %s answered (%s)", transport.info.call_id[:8], transport.info.channel)
        try:
            await Call(
                transport, self.dialogue, self.tts, self.prompts, self.stt, self.settings
            ).run()
        except Exception:
            logger.exception("call %s failed", transport.info.call_id[:8])
        finally:
            self.calls -= 1
            logger.info("call %s over", transport.info.call_id[:8])

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "speech": self.speech,
            "sip": self.config.sip_uri,
            "calls": self.calls,
        }


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the gateway stops everything on SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def web_app(gateway: Gateway, token: str | None) -> Starlette:
    """The HTTP port: the kiosk's `/ws` microphone and `/tts` (voice/web.py), and `/health`
    for `make run` and the tests."""
    from voice.web import create_voice_web_app

    stt = gateway.stt or NoSpeechToText("aucun modèle")
    app = create_voice_web_app(gateway.tts, stt, gateway.dialogue, token)

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse(gateway.health())

    app.router.routes.append(Route("/health", health, methods=["GET"]))
    return app


class NoSpeechToText:
    """No recogniser at all (Vosk cannot be imported here): the keypad only."""

    available = False

    def __init__(self, why: str) -> None:
        self.why = why

    def open_stream(self) -> RecognitionStream:
        raise RuntimeError("no speech recognition: the call uses the keypad")

    def startup_message(self) -> str:
        return (
            f"Reconnaissance vocale désactivée ({self.why}) : le téléphone fonctionne au "
            f"clavier. / Speech recognition off ({self.why}): the phone line works with the keypad."
        )

    def close(self) -> None:
        return None


def speech_to_text() -> SpeechToText:
    """Vosk on the configured model, or unavailable (keypad only), never a crash."""
    try:
        from voice.stt import VoskSpeechToText, model_path_from_env
    except ImportError as error:
        logger.error("speech recognition unavailable: %s", error)
        return NoSpeechToText(f"Vosk introuvable : {error.name}")
    return VoskSpeechToText(model_path_from_env())


def text_to_speech() -> TextToSpeech:
    from voice.tts import EspeakSpeech

    return EspeakSpeech()


async def run(config: GatewayConfig, stop: asyncio.Event) -> None:
    from voice.phone import PhoneLine

    prompts = VoicePrompts.load()
    stt = speech_to_text()
    print(stt.startup_message(), flush=True)  # type: ignore[attr-defined]
    tts = text_to_speech()
    dialogue = RasaDialogue(
        config.rasa_url, config.token, prompts, tracker_db_url=config.tracker_db_url
    )
    gateway = Gateway(config, prompts, dialogue, tts, stt)
    try:
        # The fixed prompts first, so that a call starts speaking at once.
        await tts.warm_up(prompts.fixed_texts())
        line = PhoneLine(
            host=config.sip_host,
            port=config.sip_port,
            on_call=gateway.handle_call,
            max_calls=config.max_calls,
        )
        async with line:
            server = _Server(
                uvicorn.Config(
                    web_app(gateway, config.web_token),
                    host=config.http_host,
                    port=config.http_port,
                    log_level="warning",
                    lifespan="off",
                )
            )
            serving = asyncio.create_task(server.serve())
            while not server.started and not serving.done():
                await asyncio.sleep(0.05)
            if serving.done():  # the port is taken: uvicorn said why in the log
                await serving
                raise SystemExit(f"Port HTTP {config.http_port} indisponible / unavailable.")
            print(
                f"Passerelle vocale prête : appelez {config.sip_uri} ; santé sur "
                f"http://{config.http_host}:{config.http_port}/health. / Voice gateway ready.",
                flush=True,
            )
            # The questions and menus next, while the first calls are answered.
            later = asyncio.create_task(tts.warm_up(said_later(prompts)))
            await stop.wait()
            server.should_exit = True
            await serving
            later.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await later
            print("Arrêt de la passerelle vocale… / Stopping the voice gateway…", flush=True)
    finally:
        await dialogue.close()
        await tts.close()
        close = getattr(stt, "close", None)
        if close is not None:
            close()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per turn otherwise
    try:
        config = GatewayConfig.from_env()
    except ConfigError as error:
        print(f"[voice] {error}", file=sys.stderr)
        return 2

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await run(config, stop)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
