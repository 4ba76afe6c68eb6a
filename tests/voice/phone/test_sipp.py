"""The phone line against SIPp (Debian's sip-tester), a real SIP user agent."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from pathlib import Path

from tests.voice.phone.peers import HOST, free_udp_port, rms, run_sipp, tone
from voice.phone import PhoneCall, PhoneLine
from voice.stages import FRAME_BYTES, CallTransport


class KeyCollector:
    """A trivial application: collect keys until "#", then hang up."""

    def __init__(self, hold: float = 0.0) -> None:
        self.keys: list[str] = []
        self.calls: list[PhoneCall] = []
        self.active = 0
        self.peak = 0
        self.hold = hold

    async def __call__(self, call: PhoneCall) -> None:
        self.calls.append(call)
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            typed = ""
            async for key in call.keys_in():
                typed += key.digit
                if key.digit == "#":
                    break
            self.keys.append(typed)
            if self.hold:
                await call.play(tone(self.hold))
        finally:
            self.active -= 1


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_keys_on_payload_type_96_arrive_once_each(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    app = KeyCollector()

    async def main():
        async with PhoneLine(HOST, free_udp_port(), on_call=app) as line:
            result = await run_sipp("dtmf_pcmu_pt96.xml", line.port, tmp_path)
            return result, line.active_calls

    result, active = run(main())
    assert result.ok, result.output
    assert app.keys == ["2611#"]
    call: CallTransport = app.calls[0]  # the stage interface, checked by type checkers
    assert isinstance(call, PhoneCall)
    assert call.codec == "PCMU" and call.dtmf_payload_type == 96
    assert call.info.channel == "phone"
    assert call.info.masked_caller == "•••••••78"
    assert call.ended and active == 0
    # The caller's number (sip:0612345678@...) appears in no log line, ours or the libraries'.
    assert "0612345678" not in caplog.text
    assert "612345678" not in call.info.call_id


def test_alaw_call_brings_the_callers_audio_as_16k_frames(tmp_path: Path) -> None:
    frames: list[bytes] = []
    played: list[float] = []

    async def app(call: PhoneCall) -> None:
        async def listen() -> None:
            async for frame in call.audio_in():
                frames.append(frame)

        listener = asyncio.create_task(listen())
        start = time.monotonic()
        await call.play(tone(1.0))
        played.append(time.monotonic() - start)
        await asyncio.sleep(6.5)  # SIPp's A-law sample lasts about 7 s
        listener.cancel()
        assert call.codec == "PCMA"

    async def main():
        async with PhoneLine(HOST, free_udp_port(), on_call=app) as line:
            return await run_sipp("alaw_audio.xml", line.port, tmp_path)

    result = run(main())
    assert result.ok, result.output
    assert all(len(f) == FRAME_BYTES for f in frames)
    assert len(frames) > 250  # > 5 s of the caller's audio
    assert rms(b"".join(frames)) > 300  # speech, not silence
    assert 0.98 < played[0] < 1.3  # paced in real time, not sent in a burst


def test_no_common_codec_is_refused_with_488(tmp_path: Path) -> None:
    app = KeyCollector()

    async def main():
        async with PhoneLine(HOST, free_udp_port(), on_call=app) as line:
            result = await run_sipp("no_common_codec.xml", line.port, tmp_path)
            return result, line.active_calls

    result, active = run(main())
    assert result.ok, result.output
    assert app.calls == [] and active == 0


def test_options_gets_200(tmp_path: Path) -> None:
    async def main():
        async with PhoneLine(HOST, free_udp_port()) as line:
            return await run_sipp("options.xml", line.port, tmp_path)

    result = run(main())
    assert result.ok, result.output


def test_cancel_while_ringing_gets_487(tmp_path: Path) -> None:
    app = KeyCollector()

    async def main():
        async with PhoneLine(HOST, free_udp_port(), on_call=app, ring_seconds=3) as line:
            result = await run_sipp("cancel.xml", line.port, tmp_path)
            await asyncio.sleep(3.2)  # past the ring: a cancelled call must not be answered
            return result, line.active_calls

    result, active = run(main())
    assert result.ok, result.output
    assert app.calls == [] and active == 0


def test_five_calls_at_once(tmp_path: Path) -> None:
    app = KeyCollector(hold=0.5)

    async def main():
        async with PhoneLine(HOST, free_udp_port(), on_call=app) as line:
            result = await run_sipp("dtmf_pcmu_pt96.xml", line.port, tmp_path, calls=5, rate=5)
            return result, line.active_calls

    result, active = run(main())
    assert result.ok, result.output
    assert "Successful call" in result.output
    assert app.keys == ["2611#"] * 5
    assert app.peak == 5
    assert len({c.rtp_port for c in app.calls}) == 5
    assert all(c.ended for c in app.calls) and active == 0


MALFORMED = [
    b"\x00\xff\xfe garbage that is not SIP at all",
    b"INVITE sip:guichet@127.0.0.1 SIP/2.0\r\n\r\n",  # no Via to answer to: dropped
    b"SIP/2.0 200 OK\r\nCall-ID: nobody\r\n\r\n",  # a response to nothing
    b"INVITE\r\nVia: SIP/2.0/UDP 127.0.0.1\r\n\r\n",
    b"OPTIONS sip:x SIP/2.0\r\n" + b"X-Junk: a\r\n" * 400 + b"\r\n",  # too many headers
]


def malformed_invite(port: int) -> bytes:
    """An INVITE whose SDP cannot be parsed (a port that is not a number): 400."""
    sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    sdp += "m=audio notaport RTP/AVP 0\r\n"
    return (
        "INVITE sip:guichet@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKbad1;rport\r\n"
        "From: <sip:evil@127.0.0.1>;tag=bad\r\n"
        "To: <sip:guichet@127.0.0.1>\r\n"
        "Call-ID: malformed-1\r\n"
        "CSeq: 1 INVITE\r\n"
        "Content-Type: application/sdp\r\n"
        f"Content-Length: {len(sdp)}\r\n\r\n{sdp}"
    ).encode()


def test_malformed_datagrams_do_not_stop_a_parallel_call(tmp_path: Path) -> None:
    app = KeyCollector()
    answers: list[bytes] = []

    async def pester(port: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((HOST, 0))
            s.setblocking(False)
            loop = asyncio.get_running_loop()
            for _ in range(20):
                for datagram in [*MALFORMED, malformed_invite(s.getsockname()[1])]:
                    s.sendto(datagram, (HOST, port))
                await asyncio.sleep(0.1)
            while True:
                try:
                    answers.append(await asyncio.wait_for(loop.sock_recv(s, 65535), 0.5))
                except TimeoutError:
                    break

    async def main():
        async with PhoneLine(HOST, free_udp_port(), on_call=app) as line:
            result, _ = await asyncio.gather(
                run_sipp("dtmf_pcmu_pt96.xml", line.port, tmp_path), pester(line.port)
            )
            return result

    result = run(main())
    assert result.ok, result.output
    assert app.keys == ["2611#"]
    assert any(a.startswith(b"SIP/2.0 400") for a in answers), answers[:3]


def test_rtp_flood_from_another_address_does_not_break_calls(tmp_path: Path) -> None:
    app = KeyCollector()
    sent: list[int] = []
    flooded: list[PhoneCall] = []

    def flood(port: int, seconds: float = 2.5) -> None:
        # Telephone-events for "9" on the caller's payload type, and PCMU audio, from an
        # address the caller's SDP did not name, far above 50 packets a second.
        dtmf = bytes([0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9]) + bytes([9, 0x8A, 0, 160])
        audio = bytes([0x80, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 9]) + b"\x00" * 160
        count = 0
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                for _ in range(50):
                    s.sendto(dtmf if count % 2 else audio, (HOST, port))
                    count += 1
                time.sleep(0.005)  # ~10 000 packets a second
        sent.append(count)

    async def flooded_app(call: PhoneCall) -> None:
        if not flooded:
            flooded.append(call)
            threading.Thread(target=flood, args=(call.rtp_port,), daemon=True).start()
        await app(call)

    async def main():
        async with PhoneLine(HOST, free_udp_port(), on_call=flooded_app) as line:
            return await run_sipp("dtmf_pcmu_pt96.xml", line.port, tmp_path, calls=2, rate=5)

    result = run(main())
    assert result.ok, result.output
    assert app.keys == ["2611#", "2611#"]  # no "9" from the flood, on either call
    assert sent and sent[0] > 5000
    assert flooded[0].dropped_packets > 1000


def test_a_caller_gone_silent_is_hung_up(tmp_path: Path) -> None:
    app = KeyCollector()

    async def main():  # type: ignore[no-untyped-def]
        async with PhoneLine(HOST, free_udp_port(), on_call=app, rtp_timeout=1.0) as line:
            start = time.monotonic()
            result = await run_sipp("silent_caller.xml", line.port, tmp_path)
            return result, time.monotonic() - start

    result, took = run(main())
    assert result.ok, result.output
    assert app.keys == [""] and app.calls[0].ended  # keys_in() ended with the call
    assert took < 4


def test_calls_can_be_taken_from_an_iterator(tmp_path: Path) -> None:
    app = KeyCollector()

    async def main():  # type: ignore[no-untyped-def]
        async with PhoneLine(HOST, free_udp_port()) as line:

            async def take() -> None:
                async for call in line.calls():
                    await app(call)
                    await call.hang_up()
                    return

            result, _ = await asyncio.gather(
                run_sipp("dtmf_pcmu_pt96.xml", line.port, tmp_path), take()
            )
            return result

    result = run(main())
    assert result.ok, result.output
    assert app.keys == ["2611#"]


def test_calls_beyond_max_calls_are_refused_busy(tmp_path: Path) -> None:
    app = KeyCollector()

    async def main():  # type: ignore[no-untyped-def]
        async with PhoneLine(HOST, free_udp_port(), on_call=app, max_calls=1) as line:
            return await run_sipp("dtmf_pcmu_pt96.xml", line.port, tmp_path, calls=2, timeout=8)

    result = run(main())
    assert not result.ok  # SIPp expected a 200 for its second call
    assert "486 Busy Here" in result.output
    assert app.keys == ["2611#"]


def test_listening_on_all_interfaces(tmp_path: Path) -> None:
    app = KeyCollector()

    async def main():  # type: ignore[no-untyped-def]
        async with PhoneLine("0.0.0.0", free_udp_port(), on_call=app) as line:
            return await run_sipp("dtmf_pcmu_pt96.xml", line.port, tmp_path)

    result = run(main())
    assert result.ok, result.output
    assert app.keys == ["2611#"]


def test_a_reinvite_keeps_the_call_going(tmp_path: Path) -> None:
    app = KeyCollector()

    async def main():  # type: ignore[no-untyped-def]
        async with PhoneLine(HOST, free_udp_port(), on_call=app) as line:
            return await run_sipp("reinvite.xml", line.port, tmp_path)

    result = run(main())
    assert result.ok, result.output
    assert app.keys == ["2611#"]
