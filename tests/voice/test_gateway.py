"""The gateway's configuration, its health route, and one call through Gateway.handle_call."""

import asyncio

import pytest
from starlette.testclient import TestClient

from tests.voice.doubles import Assistant, Line, NoEar, Voice
from voice.fakes.speech_out import ToneSpeech
from voice.gateway import ConfigError, Gateway, GatewayConfig, web_app
from voice.prompts import VoicePrompts

PROMPTS = VoicePrompts.load()


def test_the_configuration_comes_from_the_environment() -> None:
    config = GatewayConfig.from_env(
        {"GUICHET_VOICE_TOKEN": "t", "GUICHET_VOICE_SIP_PORT": "5070", "GUICHET_RASA_URL": "x"}
    )
    assert (config.sip_port, config.http_port, config.rasa_url) == (5070, 2700, "x")
    assert config.sip_uri == "sip:guichet@127.0.0.1:5070"
    with pytest.raises(ConfigError, match="GUICHET_VOICE_TOKEN"):
        GatewayConfig.from_env({})
    with pytest.raises(ConfigError, match="GUICHET_VOICE_SILENCE_SECONDS"):
        GatewayConfig.from_env({"GUICHET_VOICE_TOKEN": "t", "GUICHET_VOICE_SILENCE_SECONDS": "-1"})


def test_health_says_how_to_call_and_that_the_keypad_only_works() -> None:
    config = GatewayConfig(rasa_url="http://127.0.0.1:1", token="t", sip_port=5099)
    gateway = Gateway(config, PROMPTS, Assistant(), ToneSpeech(), NoEar())  # type: ignore[arg-type]
    with TestClient(web_app(gateway, None)) as client:
        health = client.get("/health")
        spoken = client.post("/tts", json={"text": "Bonjour."})
        assert client.get("/nothing").status_code == 404
    assert health.json() == {
        "status": "ok",
        "speech": False,
        "sip": "sip:guichet@127.0.0.1:5099",
        "calls": 0,
    }
    # The kiosk's routes (voice/web.py) are on the same port.
    assert spoken.status_code == 200
    assert spoken.headers["content-type"] == "audio/wav"


def test_a_call_runs_to_its_end_and_is_counted() -> None:
    config = GatewayConfig(rasa_url="http://127.0.0.1:1", token="t")
    gateway = Gateway(config, PROMPTS, Assistant(), Voice(), NoEar())  # type: ignore[arg-type]

    async def main() -> Line:
        line = Line()
        call = asyncio.create_task(gateway.handle_call(line))
        await asyncio.sleep(0.05)
        assert gateway.calls == 1
        line.leave()
        await asyncio.wait_for(call, 2)
        return line

    line = asyncio.run(main())
    assert PROMPTS.text("utter_voice_keypad_only") in line.heard
    assert gateway.calls == 0
