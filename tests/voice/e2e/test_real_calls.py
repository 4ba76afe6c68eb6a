"""Real calls to the voice gateway over the real stack: baresip, then five SIPp callers at once.

Demo dossiers: api/fixtures/demo_dossiers.yaml (2611000002, born 04/07/1961, incomplete: the
justificatif de domicile is missing).
"""

import asyncio
import subprocess
import threading
import time
import wave
from pathlib import Path

import httpx
import numpy as np

from tests.e2e.conftest import RunningStack, free_port, free_udp_port
from tests.voice.e2e.conversations import (
    Conversation,
    stored_text,
    voice_conversations,
    wait_for,
)
from tests.voice.phone.baresip import Baresip, silence

SCENARIO = Path(__file__).with_name("sipp_status_call.xml")
# Demo dossiers, their dates of birth keyed as JJMMAAAA, and words of their status answer.
DOSSIERS = [
    ("2611000001", "12031948", "en cours d'instruction"),
    ("2611000002", "04071961", "justificatif de domicile"),
    ("2611000003", "30111955", "en fabrication"),
    ("2611000005", "21051972", "boîte aux lettres"),
    ("2611000006", "02091940", "contrôle technique"),
]


def speech_seconds(recording: Path, start: float, end: float) -> float:
    """Seconds of `recording` between `start` and `end` louder than line noise (20 ms frames)."""
    with wave.open(str(recording)) as wav:
        rate = wav.getframerate()
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 1
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(float)
    part = samples[int(start * rate) : int(end * rate)]
    frame = rate // 50
    frames = part[: len(part) // frame * frame].reshape(-1, frame)
    loud = np.sqrt((frames**2).mean(axis=1)) > 300
    return float(loud.sum()) / 50


def duration(recording: Path) -> float:
    with wave.open(str(recording)) as wav:
        return wav.getnframes() / wav.getframerate()


def health(stack: RunningStack) -> dict:
    return httpx.get(f"http://127.0.0.1:{stack.ports.voice}/health", timeout=5).json()


def test_baresip_keys_a_dossier_and_its_birth_date_and_hears_its_status(
    voice_stack: RunningStack, tmp_path: Path
) -> None:
    database = voice_stack.tracker_db

    async def call() -> tuple[Path, Conversation]:
        # Its microphone: silence, longer than the call (baresip hangs up when it ends).
        phone = Baresip(tmp_path, silence(120))
        await phone.start()
        try:
            dialled = await phone.command("dial", f"sip:guichet@127.0.0.1:{voice_stack.ports.sip}")
            assert dialled["ok"], phone.log()
            await phone.wait_event("CALL_ESTABLISHED", timeout=30)
            await asyncio.sleep(4)  # the greeting
            await phone.command("sndcode", "2611000002#")
            await asyncio.to_thread(wait_for, database, "date de naissance")
            await phone.command("sndcode", "04071961#")
            conversation = await asyncio.to_thread(wait_for, database, "justificatif de domicile")
            await asyncio.sleep(5)  # the answer, heard
            await phone.command("hangup")
            await phone.wait_event("CALL_CLOSED", timeout=10)
            return phone.recording(), conversation
        finally:
            await phone.stop()

    recording, conversation = asyncio.run(call())
    # The greeting is speech, not silence, and so is the answer heard at the hang-up.
    assert speech_seconds(recording, 0.5, 4) > 2.0
    assert speech_seconds(recording, duration(recording) - 3, duration(recording)) > 1.5
    # One conversation for the call, through the voice channel, from the phone, caller masked.
    assert {u.get("input_channel") for u in conversation.user} == {"voice"}
    metadata = [u.get("metadata") or {} for u in conversation.user]
    assert all(m.get("door") == "phone" for m in metadata if m)
    assert all(sum(c.isdigit() for c in m.get("caller", "")) <= 4 for m in metadata)
    assert "incomplète" in conversation.said
    # What was keyed is stored masked, as what is typed.
    assert "2611000002" not in stored_text(database)
    assert "04071961" not in stored_text(database)
    # The hang-up was clean: the gateway is free and still serving.
    deadline = time.monotonic() + 10
    while health(voice_stack)["calls"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert health(voice_stack)["calls"] == 0


def sipp_call(workdir: Path, sip_port: int, number: str, birth: str) -> subprocess.Popen:
    scenario = workdir / f"call_{number}.xml"
    scenario.write_text(
        SCENARIO.read_text()
        .replace("@NUMBER@", number)
        .replace("@BIRTH@", birth)
        .replace("@LISTEN@", "15000"),
        encoding="iso-8859-1",
    )
    return subprocess.Popen(
        ["sipp", f"127.0.0.1:{sip_port}", "-sf", str(scenario), "-s", "guichet",
         "-i", "127.0.0.1", "-p", str(free_udp_port()), "-mi", "127.0.0.1",
         "-mp", str(free_port() & ~1), "-m", "1", "-l", "1", "-nostdin",
         "-timeout", "90s", "-timeout_error", "-trace_err"],
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_five_sipp_callers_at_once_each_hear_their_own_status(
    voice_stack: RunningStack, tmp_path: Path
) -> None:
    before = frozenset(c.sender for c in voice_conversations(voice_stack.tracker_db))
    most = 0
    watching = True

    def watch() -> None:
        nonlocal most
        while watching:
            most = max(most, health(voice_stack)["calls"])
            time.sleep(0.2)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        callers = [
            sipp_call(tmp_path, voice_stack.ports.sip, number, birth)
            for number, birth, _ in DOSSIERS
        ]
        results = [caller.wait(120) for caller in callers]
    finally:
        watching = False
        watcher.join()
    errors = []
    for caller in callers:
        if caller.stderr is not None:
            errors.append(caller.stderr.read().decode(errors="replace")[-500:])
            caller.stderr.close()
    assert results == [0] * len(DOSSIERS), errors
    assert most == len(DOSSIERS)
    heard = set()
    for _number, _birth, words in DOSSIERS:
        conversation = wait_for(voice_stack.tracker_db, words, timeout=60, besides=before)
        heard.add(conversation.sender)
    # Five calls, five conversations: each caller heard their own dossier.
    assert len(heard) == len(DOSSIERS)
