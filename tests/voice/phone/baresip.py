"""baresip (Debian's baresip-core) as a test caller, driven through its ctrl_tcp port.

It dials the line, sends its input file (`aufile`) as its microphone and hangs up when that
file ends, sends RFC 4733 keys on `sndcode`, and records what it hears (`sndfile`,
<workdir>/rec/dump-*-dec.wav).
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import json
import math
import wave
from pathlib import Path
from typing import Any

from tests.voice.phone.peers import HOST, free_udp_port, require

RATE = 8000


def write_wav(path: Path, pcm: bytes, rate: int = RATE) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)


def read_wav(path: Path) -> tuple[bytes, int]:
    with wave.open(str(path), "rb") as w:
        return w.readframes(w.getnframes()), w.getframerate()


def sine(seconds: float, freq: float, rate: int = RATE, amp: int = 6000) -> bytes:
    n = int(rate * seconds)
    return array.array(
        "h", (int(amp * math.sin(2 * math.pi * freq * i / rate)) for i in range(n))
    ).tobytes()


def silence(seconds: float, rate: int = RATE) -> bytes:
    return bytes(2 * int(rate * seconds))


class Baresip:
    def __init__(self, workdir: Path, microphone: bytes) -> None:
        self.dir = workdir
        self.ctrl_port = free_udp_port()  # a TCP port in practice: both are free or not
        self.sip_port = free_udp_port()
        self.events: list[dict[str, Any]] = []
        self._responses: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._event_seen = asyncio.Event()
        self._proc: asyncio.subprocess.Process | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None
        (workdir / "rec").mkdir(parents=True, exist_ok=True)
        write_wav(workdir / "microphone.wav", microphone)
        rtp = free_udp_port(pair=True)
        (workdir / "config").write_text(
            "\n".join(
                [
                    "poll_method epoll",
                    f"sip_listen {HOST}:{self.sip_port}",
                    "audio_player aubridge,nil",  # no sound card: sndfile records instead
                    f"audio_source aufile,{workdir / 'microphone.wav'}",
                    "audio_alert aubridge,nil",
                    f"ausrc_srate {RATE}",
                    f"auplay_srate {RATE}",
                    "ausrc_channels 1",
                    "auplay_channels 1",
                    f"rtp_ports {rtp}-{rtp + 20}",
                    "module_path /usr/lib/baresip/modules",
                    "module g711.so",
                    "module aufile.so",
                    "module aubridge.so",
                    "module sndfile.so",
                    "module_app account.so",
                    "module_app menu.so",
                    "module_app ctrl_tcp.so",
                    f"ctrl_tcp_listen {HOST}:{self.ctrl_port}",
                    f"snd_path {workdir / 'rec'}",
                    "",
                ]
            )
        )
        (workdir / "accounts").write_text(
            f"<sip:0612345678@{HOST}>;regint=0;audio_codecs=PCMU,PCMA\n"
        )
        (workdir / "contacts").write_text("")

    async def start(self) -> None:
        baresip = require("baresip", "baresip-core")
        self._log = (self.dir / "baresip.log").open("wb")
        self._proc = await asyncio.create_subprocess_exec(
            baresip,
            "-f",
            str(self.dir),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log,
            stderr=asyncio.subprocess.STDOUT,
        )
        for _ in range(100):
            try:
                reader, self._writer = await asyncio.open_connection(HOST, self.ctrl_port)
                break
            except OSError:
                await asyncio.sleep(0.05)
        else:
            raise RuntimeError(f"baresip control port never opened: {self.log()}")
        self._reader_task = asyncio.create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        """ctrl_tcp speaks JSON in netstrings: b'<length>:<json>,'."""
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                length = int((await reader.readuntil(b":"))[:-1])
                message = json.loads(await reader.readexactly(length))
                await reader.readexactly(1)
                if message.get("response"):
                    self._responses.put_nowait(message)
                else:
                    self.events.append(message)
                    self._event_seen.set()

    async def command(self, command: str, params: str = "") -> dict[str, Any]:
        assert self._writer is not None
        body = json.dumps({"command": command, "params": params, "token": command}).encode()
        self._writer.write(str(len(body)).encode() + b":" + body + b",")
        await self._writer.drain()
        return await asyncio.wait_for(self._responses.get(), 5)

    async def wait_event(self, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        async def seen() -> dict[str, Any]:
            while True:
                for event in self.events:
                    if event.get("type") == kind:
                        return event
                self._event_seen.clear()
                await self._event_seen.wait()

        return await asyncio.wait_for(seen(), timeout)

    async def stop(self) -> None:
        if self._proc is None:
            return
        if self._proc.returncode is None:
            with contextlib.suppress(Exception):
                await self.command("quit")
            try:
                await asyncio.wait_for(self._proc.wait(), 5)
            except TimeoutError:
                self._proc.kill()
                await self._proc.wait()
        if self._reader_task is not None:
            self._reader_task.cancel()
        if self._writer is not None:
            self._writer.close()
        self._log.close()

    def log(self) -> str:
        return (self.dir / "baresip.log").read_text(errors="replace")

    def recording(self) -> Path:
        """What baresip heard: sndfile's decoder-side dump."""
        found = sorted((self.dir / "rec").glob("dump-*-dec.wav"))
        assert found, f"no recording: {self.log()}"
        return found[-1]
