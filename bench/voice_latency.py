"""Keypad latency of the voice gateway: `python -m bench.voice_latency` (with `make run` up).

Each caller is a small SIP/RTP client of its own (plain UDP, no library, so that nothing of the
gateway's stack is on the measuring side): it calls `sip:guichet@127.0.0.1:5060`, offers PCMU
and telephone-event on payload type 101, and keys turns of "0#" (a person, the domain's
ask_human answer, through Rasa and the action-free rule). A turn's latency runs from the RTP
packet of the "#" key (the line takes a key at its first packet) to the first RTP packet of
the answer; the key "0" first stops
the answer still playing (barge-in), and the line must be quiet before "#" is keyed.

The callers run `--turns` turns each (at least `--min-turns` per level), `--calls` of them at
once for each figure of the list (e.g. 1,5,10,20): p50 and p95 per level, and the largest
level whose p95 stays under the goal (300 ms). Between turns a caller listens to the answer
for `--think` seconds on average (0.5-1.5 times; 4 s by default, a short answer's length),
the answer streaming to it meanwhile: `--think 0.5` is a stress test, not a caller.
`--start-stack` starts its own stack on free ports instead (as the tests do).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import socket
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

GOAL_P95_MS = 300.0
EVENT_PT = 101
EVENT_CODES = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, on_packet) -> None:  # type: ignore[no-untyped-def]
        self.on_packet = on_packet

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.on_packet(data, addr)


@dataclass
class Caller:
    """One keypad caller: a SIP dialog and an RTP socket."""

    host: str
    port: int
    latencies: list[float] = field(default_factory=list)
    call_id: str = field(default_factory=lambda: secrets.token_hex(8))
    tag: str = field(default_factory=lambda: secrets.token_hex(4))

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._responses: asyncio.Queue[str] = asyncio.Queue()
        self._sip, _ = await loop.create_datagram_endpoint(
            lambda: _Udp(self._on_sip), local_addr=("127.0.0.1", 0)
        )
        self._rtp, _ = await loop.create_datagram_endpoint(
            lambda: _Udp(self._on_rtp), local_addr=("127.0.0.1", 0)
        )
        self.sip_port = self._sip.get_extra_info("sockname")[1]
        self.rtp_port = self._rtp.get_extra_info("sockname")[1]
        self.last_packet = 0.0
        self._waiting_since: float | None = None
        self._first_after: asyncio.Future[float] | None = None
        self._seq = random.randrange(1 << 16)
        self._ts = random.randrange(1 << 32)
        self._ssrc = random.randrange(1 << 32)

    def _on_sip(self, data: bytes, addr: tuple[str, int]) -> None:
        text = data.decode(errors="replace")
        if text.startswith("SIP/2.0"):
            self._responses.put_nowait(text)
        elif text.startswith("BYE"):  # the line hangs up: say OK
            self._sip.sendto(_ok(text), addr)

    def _on_rtp(self, data: bytes, addr: tuple[str, int]) -> None:
        now = time.perf_counter()
        self.last_packet = now
        if self._first_after is not None and not self._first_after.done():
            self._first_after.set_result(now)

    def _send_sip(self, message: str) -> None:
        self._sip.sendto(message.encode(), (self.host, self.port))

    def _headers(self, method: str, cseq: int, to_tag: str = "") -> str:
        branch = "z9hG4bK" + secrets.token_hex(6)
        to = f"<sip:guichet@{self.host}:{self.port}>" + (f";tag={to_tag}" if to_tag else "")
        return (
            f"{method} sip:guichet@{self.host}:{self.port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.sip_port};branch={branch};rport\r\n"
            f"Max-Forwards: 70\r\n"
            f"From: <sip:bench@127.0.0.1:{self.sip_port}>;tag={self.tag}\r\n"
            f"To: {to}\r\nCall-ID: {self.call_id}\r\nCSeq: {cseq} {method}\r\n"
            f"Contact: <sip:bench@127.0.0.1:{self.sip_port}>\r\n"
        )

    async def call(self) -> None:
        sdp = (
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {self.rtp_port} RTP/AVP 0 {EVENT_PT}\r\na=rtpmap:0 PCMU/8000\r\n"
            f"a=rtpmap:{EVENT_PT} telephone-event/8000\r\na=fmtp:{EVENT_PT} 0-15\r\n"
            "a=ptime:20\r\na=sendrecv\r\n"
        )
        self._send_sip(
            self._headers("INVITE", 1)
            + f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}"
        )
        while True:
            response = await asyncio.wait_for(self._responses.get(), 30)
            code = int(response.split(" ", 2)[1])
            if code >= 300:
                raise RuntimeError(f"call refused: {response.splitlines()[0]}")
            if code == 200:
                break
        self._to_tag = re.search(r"^To:.*;tag=([^;\s]+)", response, re.M | re.I)[1]  # type: ignore[index]
        media_host = re.search(r"^c=IN IP4 (\S+)", response, re.M)[1]  # type: ignore[index]
        media_port = int(re.search(r"^m=audio (\d+)", response, re.M)[1])  # type: ignore[index]
        self.media = (media_host, media_port)
        self._send_sip(self._headers("ACK", 1, self._to_tag) + "Content-Length: 0\r\n\r\n")

    async def hang_up(self) -> None:
        self._send_sip(self._headers("BYE", 2, self._to_tag) + "Content-Length: 0\r\n\r\n")
        with suppress(asyncio.TimeoutError, OSError):
            await asyncio.wait_for(self._responses.get(), 5)
        self._sip.close()
        self._rtp.close()

    async def key(self, digit: str) -> float:
        """Send one RFC 4733 event (60 ms); returns when its first packet left: the line
        takes a key at its first packet, as a caller presses it."""
        self._ts = (self._ts + 160 * 10) & 0xFFFFFFFF
        code = EVENT_CODES[digit]
        sent = 0.0
        for n, (end, duration) in enumerate(
            [(False, 160), (False, 320), (False, 480), (True, 480), (True, 480), (True, 480)]
        ):
            header = struct.pack(
                "!BBHII", 0x80, (0x80 if n == 0 else 0) | EVENT_PT, self._seq, self._ts, self._ssrc
            )
            self._seq = (self._seq + 1) & 0xFFFF
            payload = struct.pack("!BBH", code, (0x80 if end else 0) | 10, duration)
            self._rtp.sendto(header + payload, self.media)
            if not sent:
                sent = time.perf_counter()
            if not end:
                await asyncio.sleep(0.02)
        return sent

    async def turn(self) -> float:
        """Key "0", wait for the line to be quiet, key "#": ms to the answer's first packet."""
        await self.key("0")
        while time.perf_counter() - self.last_packet < 0.2:
            await asyncio.sleep(0.05)
        self._first_after = asyncio.get_running_loop().create_future()
        pressed = await self.key("#")
        first = await asyncio.wait_for(self._first_after, 30)
        return (first - pressed) * 1000


def _ok(request: str) -> bytes:
    keep = [
        line
        for line in request.split("\r\n")
        if line.split(":", 1)[0].lower() in {"via", "from", "to", "call-id", "cseq"}
    ]
    return ("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n").encode()


async def one_caller(
    host: str, port: int, turns: int, think: float, latencies: list[float]
) -> None:
    caller = Caller(host, port)
    await caller.open()
    await caller.call()
    await asyncio.sleep(1.0)  # the greeting starts
    try:
        for _ in range(turns):
            latencies.append(await caller.turn())
            await asyncio.sleep(random.uniform(0.5, 1.5) * think)  # the caller listens
    finally:
        await caller.hang_up()


async def level(host: str, port: int, calls: int, turns: int, think: float) -> list[float]:
    latencies: list[float] = []
    results = await asyncio.gather(
        *(one_caller(host, port, turns, think, latencies) for _ in range(calls)),
        return_exceptions=True,
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        print(f"  {len(failures)} call(s) failed: {failures[0]!r}", file=sys.stderr)
    return latencies


@contextmanager
def own_stack() -> Iterator[tuple[str, int]]:
    """API, action server, Rasa and the voice gateway on free ports, as the tests start them."""
    from scripts.ensure_env import SECRET_KEYS
    from scripts.services import Ports, build_services, running

    def free(kind: int) -> int:
        with socket.socket(socket.AF_INET, kind) as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    with tempfile.TemporaryDirectory(prefix="guichet-voice-bench-") as folder:
        workdir = Path(folder)
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(Path.home()),
            "DATABASE_URL": f"sqlite:///{workdir / 'guichet.db'}",
            "GUICHET_ENV": "development",
            "GUICHET_VOSK_MODEL": str(workdir / "no-model"),
            **{name: secrets.token_urlsafe(24) for name in SECRET_KEYS},
        }
        ports = Ports(
            api=free(socket.SOCK_STREAM),
            actions=free(socket.SOCK_STREAM),
            rasa=free(socket.SOCK_STREAM),
            voice=free(socket.SOCK_STREAM),
            sip=free(socket.SOCK_DGRAM),
        )
        services = build_services(ports, env, log_dir=workdir / "logs", var_dir=workdir)
        with running(services):
            yield "127.0.0.1", ports.sip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sip", default="127.0.0.1:5060", help="the gateway's SIP address")
    parser.add_argument("--calls", default="1,5,10,20", help="simultaneous calls, per level")
    parser.add_argument("--turns", type=int, default=5, help="turns per call, at least")
    parser.add_argument("--min-turns", type=int, default=50, help="turns per level, at least")
    parser.add_argument(
        "--think",
        type=float,
        default=4.0,
        help="mean seconds a caller listens to an answer before keying again (0.5-1.5 times)",
    )
    parser.add_argument("--start-stack", action="store_true", help="start a stack of its own")
    args = parser.parse_args(argv)
    levels = [int(n) for n in args.calls.split(",")]

    def measure(host: str, port: int) -> int:
        held = 0
        print(
            f"Voice gateway sip:guichet@{host}:{port}, {os.cpu_count()} cores, "
            f"callers listen {args.think:.1f} s on average between turns"
        )
        print("calls  turns   p50 ms   p95 ms   max ms")
        for calls in levels:
            turns = max(args.turns, -(-args.min_turns // calls))  # at least min_turns a level
            latencies = asyncio.run(level(host, port, calls, turns, args.think))
            if not latencies:
                print(f"{calls:5d}  no turn measured")
                continue
            p50, p95 = statistics.median(latencies), percentile(latencies, 0.95)
            print(f"{calls:5d}  {len(latencies):5d}  {p50:7.0f}  {p95:7.0f}  {max(latencies):7.0f}")
            if p95 < GOAL_P95_MS:
                held = max(held, calls)
        print(f"Goal p95 < {GOAL_P95_MS:.0f} ms held up to {held} simultaneous keypad calls.")
        return 0

    if args.start_stack:
        with own_stack() as (host, port):
            return measure(host, port)
    host, port = args.sip.rsplit(":", 1)
    return measure(host, int(port))


if __name__ == "__main__":
    sys.exit(main())
