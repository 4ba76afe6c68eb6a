"""A real SIP caller of Debian, baresip (package baresip-core), driven through its ctrl_tcp port.

It dials, keys digits (RFC 4733, on the payload type it offers: 101), hangs up, and records
what it hears with its sndfile module (dump-…-dec.wav). Its microphone is a file of silence
(aufile): baresip hangs up when the file ends, so the file is long enough for the call.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import wave
from pathlib import Path
from typing import Any

MODULES = Path("/usr/lib/baresip/modules")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Baresip:
    def __init__(self, workdir: Path, silence_seconds: float = 120) -> None:
        self.workdir = workdir
        self.recordings = workdir / "recordings"
        self.recordings.mkdir(parents=True, exist_ok=True)
        self.ctrl_port = _free_port()
        microphone = workdir / "silence.wav"
        with wave.open(str(microphone), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(8000)
            wav.writeframes(b"\0\0" * int(8000 * silence_seconds))
        (workdir / "config").write_text(
            "\n".join(
                [
                    "poll_method epoll",
                    "sip_listen 127.0.0.1:0",
                    # Its SDP names this address: the line hears RTP only from the address
                    # the caller's SDP gives, and baresip sends from loopback.
                    "net_interface 127.0.0.1",
                    "net_af ipv4",
                    "audio_player aubridge,nowhere",
                    "audio_alert aubridge,nowhere",
                    f"audio_source aufile,{microphone}",
                    f"module_path {MODULES}",
                    "module g711.so",
                    "module aufile.so",
                    "module aubridge.so",
                    "module sndfile.so",
                    "module_app account.so",
                    "module_app menu.so",
                    "module_app ctrl_tcp.so",
                    f"ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}",
                    f"snd_path {self.recordings}",
                    "",
                ]
            )
        )
        (workdir / "accounts").write_text("<sip:caller@127.0.0.1>;regint=0\n")
        self.events: list[dict[str, Any]] = []
        self._responses: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._ctrl: socket.socket | None = None

    def __enter__(self) -> Baresip:
        with open(self.workdir / "baresip.log", "wb") as log:
            self._process = subprocess.Popen(
                ["baresip", "-f", str(self.workdir)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 10
        while True:
            try:
                self._ctrl = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"baresip did not start: {self.log()}") from None
                time.sleep(0.1)
        self._ctrl.settimeout(None)
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._ctrl is not None:
            self._ctrl.close()
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def log(self) -> str:
        return (self.workdir / "baresip.log").read_text(errors="replace")[-3000:]

    def _read(self) -> None:
        assert self._ctrl is not None
        buffer = b""
        while True:
            try:
                chunk = self._ctrl.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while b":" in buffer:
                length, rest = buffer.split(b":", 1)
                if len(rest) < int(length) + 1:
                    break
                message = json.loads(rest[: int(length)])
                buffer = rest[int(length) + 1 :]
                with self._lock:
                    (self.events if message.get("event") else self._responses).append(message)

    def command(self, command: str, params: str = "") -> None:
        assert self._ctrl is not None
        data = json.dumps({"command": command, "params": params, "token": command}).encode()
        self._ctrl.sendall(str(len(data)).encode() + b":" + data + b",")

    def wait_event(self, kind: str, timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for event in self.events:
                    if event.get("type") == kind:
                        return event
            time.sleep(0.05)
        raise AssertionError(f"baresip: no {kind} in {timeout} s: {self.events}\n{self.log()}")

    def heard(self) -> Path:
        """The recording of what baresip heard (decoded audio)."""
        [recording] = sorted(self.recordings.glob("dump-*-dec.wav"))
        return recording
