"""Helpers to run the phone line against real SIP peers (SIPp, baresip) in tests."""

from __future__ import annotations

import array
import asyncio
import math
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

SIPP_DIR = Path(__file__).parent / "sipp"
HOST = "127.0.0.1"


def free_udp_port(pair: bool = False) -> int:
    """A UDP port nobody holds now (with the next one free too when `pair`)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
        if not pair:
            return port
        if port % 2 == 0 and port < 65534:
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s2:
                    s2.bind((HOST, port + 1))
                return port
            except OSError:
                continue
    raise RuntimeError("no free UDP port")


def require(program: str, package: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.fail(f"{program} is missing: apt-get install -y {package}")
    return path


@dataclass
class SippRun:
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


async def run_sipp(
    scenario: str,
    line_port: int,
    workdir: Path,
    *,
    calls: int = 1,
    rate: int | None = None,
    timeout: float = 20.0,
) -> SippRun:
    """Run one SIPp UAC scenario from tests/voice/phone/sipp against the line."""
    sipp = require("sipp", "sip-tester")
    args = [
        sipp,
        f"{HOST}:{line_port}",
        "-sf",
        str(SIPP_DIR / scenario),
        "-m",
        str(calls),
        "-l",
        str(calls),
        "-r",
        str(rate or calls),
        "-i",
        HOST,
        "-p",
        str(free_udp_port()),
        "-mp",
        str(free_udp_port(pair=True)),
        "-timeout",
        f"{int(timeout)}s",
        "-timeout_error",
        "-nostdin",
        "-trace_err",
        "-error_file",
        str(workdir / f"{scenario}.errors.log"),
    ]
    proc = await asyncio.create_subprocess_exec(
        *args,
        cwd=workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout + 10)
    errors = workdir / f"{scenario}.errors.log"
    text = out.decode(errors="replace")
    if errors.exists():
        text += "\n--- SIPp errors ---\n" + errors.read_text(errors="replace")
    assert proc.returncode is not None
    return SippRun(proc.returncode, text)


def tone(seconds: float, freq: float = 1000.0, rate: int = 16_000, amp: int = 8000) -> bytes:
    n = int(rate * seconds)
    return array.array(
        "h", (int(amp * math.sin(2 * math.pi * freq * i / rate)) for i in range(n))
    ).tobytes()


def rms(pcm: bytes) -> float:
    samples = array.array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))
