"""`make run` starts the voice gateway beside the other services and says how to call it."""

import socket
from pathlib import Path

import httpx
import pytest

from scripts import services
from scripts.services import Ports, Stack, StackError, build_services, voice_summary

SECRETS = {"GUICHET_VOICE_TOKEN": "voice-token-not-in-ps"}


def test_the_gateway_starts_with_make_run_only(tmp_path: Path) -> None:
    assert Ports.from_env({}).voice is None
    ports = Ports.from_env({"GUICHET_VOICE_SIP_PORT": "5070"}, voice=True)
    assert (ports.voice, ports.sip) == (2700, 5070)
    built = build_services(ports, dict(SECRETS), log_dir=tmp_path, var_dir=tmp_path)
    assert [s.name for s in built] == ["api", "actions", "rasa", "voice"]
    voice = built[-1]
    assert voice.command[-2:] == ["-m", "voice.gateway"]
    assert voice.env["GUICHET_VOICE_PORT"] == "2700"
    assert voice.env["GUICHET_VOICE_SIP_PORT"] == "5070"
    assert voice.env["GUICHET_RASA_URL"] == "http://127.0.0.1:5005"
    assert voice.env["GUICHET_VOICE_TOKEN"] == SECRETS["GUICHET_VOICE_TOKEN"]
    assert "voice-token" not in " ".join(voice.command)
    assert voice.ready_path == "/health"


@pytest.mark.parametrize(
    ("health", "said"),
    [
        ({"speech": True, "sip": "sip:guichet@127.0.0.1:5060"}, "reconnaissance de la parole"),
        ({"speech": False, "sip": "sip:guichet@127.0.0.1:5060"}, "clavier seulement"),
        (None, "clavier seulement"),
    ],
)
def test_the_summary_says_how_to_call_and_whether_speech_is_heard(
    monkeypatch: pytest.MonkeyPatch, health: dict | None, said: str
) -> None:
    def get(url: str, timeout: float) -> httpx.Response:
        if health is None:
            raise httpx.ConnectError("down")
        return httpx.Response(200, json=health, request=httpx.Request("GET", url))

    monkeypatch.setattr(services.httpx, "get", get)
    summary = voice_summary(Ports(voice=2700, sip=5060))
    assert "sip:guichet@127.0.0.1:5060" in summary
    assert said in summary


def test_a_taken_sip_port_is_reported_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        sip = busy.getsockname()[1]
        ports = Ports(api=1, actions=2, rasa=3, voice=4, sip=sip)
        voice = build_services(ports, dict(SECRETS), log_dir=tmp_path, var_dir=tmp_path)[-1]
        voice.port = 0  # its HTTP port free
        with pytest.raises(StackError, match=f"Le port {sip} "):
            Stack([voice]).check_ports()
        assert voice.process is None
