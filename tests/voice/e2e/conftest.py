"""The real stack with the voice gateway, for real calls: API, action server, Rasa, gateway.

Started as `make run` starts it (scripts/services.py), on free ports, without a Vosk model:
the calls use the keypad, which is what these tests key.
"""

import shutil
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import RunningStack, real_stack


@pytest.fixture(scope="session")
def voice_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    missing = [tool for tool in ("baresip", "sipp", "espeak-ng") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{missing} missing: apt-get install -y baresip-core sip-tester espeak-ng")
    workdir = tmp_path_factory.mktemp("voice-stack")
    extra = {
        "GUICHET_VOSK_MODEL": str(workdir / "no-vosk-model"),
        # No reprompt while a test keys slowly.
        "GUICHET_VOICE_SILENCE_SECONDS": "30",
    }
    with real_stack(workdir, voice=True, extra_env=extra) as stack:
        yield stack
