"""A real softphone, baresip, calls the phone line: it hears us and its keys reach us."""

from __future__ import annotations

import array
import asyncio
import itertools
from pathlib import Path

from tests.voice.phone.baresip import Baresip, read_wav, silence, sine
from tests.voice.phone.peers import HOST, free_udp_port, rms, tone
from voice.phone import PhoneCall, PhoneLine

KEYS = "2611#"


def zero_crossing_hz(pcm: bytes, rate: int) -> float:
    samples = array.array("h")
    samples.frombytes(pcm)
    crossings = sum(1 for a, b in itertools.pairwise(samples) if (a < 0) != (b < 0))
    return crossings / 2 / (len(samples) / rate)


def test_baresip_hears_the_line_and_its_keys_arrive(tmp_path: Path) -> None:
    heard: list[bytes] = []
    keys: list[str] = []
    calls: list[PhoneCall] = []

    async def app(call: PhoneCall) -> None:
        calls.append(call)

        async def listen() -> None:
            async for frame in call.audio_in():
                heard.append(frame)

        listener = asyncio.create_task(listen())
        await call.play(tone(1.5, freq=1000))
        async for key in call.keys_in():
            keys.append(key.digit)
            if key.digit == "#":
                break
        listener.cancel()

    async def main() -> list[dict]:
        # baresip's microphone: a 440 Hz beep, then silence; it hangs up when the file ends
        phone = Baresip(tmp_path, silence(0.5) + sine(1.0, 440) + silence(8.5))
        async with PhoneLine(HOST, free_udp_port(), on_call=app) as line:
            await phone.start()
            try:
                answer = await phone.command("dial", f"sip:guichet@{HOST}:{line.port}")
                assert answer["ok"], phone.log()
                await phone.wait_event("CALL_ESTABLISHED")
                await asyncio.sleep(2.0)  # the line's tone plays meanwhile
                for digit in KEYS:
                    assert (await phone.command("sndcode", digit))["ok"], phone.log()
                    await asyncio.sleep(0.3)
                await phone.wait_event("CALL_CLOSED")  # the line hangs up after "#"
            finally:
                await phone.stop()
            events = phone.events
            recording, rate = read_wav(phone.recording())
        return events, recording, rate

    events, recording, rate = asyncio.run(main())
    assert "".join(keys) == KEYS
    closed = next(e for e in events if e["type"] == "CALL_CLOSED")
    # baresip's words for a BYE from the far end (its own hang-up at the end of its file
    # would read "end of file"): the line hung up after "#", cleanly.
    assert closed["param"] == "Connection reset by peer"
    assert calls and calls[0].ended and calls[0].codec == "PCMU"
    # baresip recorded our tone: loud, and at 1 kHz (G.711 and two resamplings on the way)
    loud = [recording[i : i + 320] for i in range(0, len(recording), 320)]
    loud = b"".join(chunk for chunk in loud if rms(chunk) > 1000)
    assert len(loud) / 2 / rate > 1.2, f"{len(loud)} loud bytes in {len(recording)}"
    assert 900 < zero_crossing_hz(loud, rate) < 1100
    # and we heard baresip's beep
    beep = b"".join(f for f in heard if rms(f) > 1000)
    assert len(beep) / 2 / 16000 > 0.7
    assert 400 < zero_crossing_hz(beep, 16000) < 480
