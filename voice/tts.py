"""Text-to-speech: pyttsx3 driving espeak-ng's France-French voice, off the event loop.

pyttsx3 keeps one global engine per process, ignores rate changes after its first run and is
not thread-safe. So each speaking rate (normal, slow) gets a worker process of its own
(spawned, never forked from a process with threads), which sets its voice and rate once and
then only synthesizes. Results are cached by (text, slow), so fixed prompts synthesized at
start (`warm_up`) play at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import io
import logging
import multiprocessing
import shutil
import tempfile
import threading
import uuid
import wave
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from voice.audio import Resampler
from voice.stages import PCM_RATE

log = logging.getLogger(__name__)

NORMAL_RATE = 160  # words per minute (espeak-ng's default, 175, is quick for many callers)
SLOW_RATE = 115  # "plus lentement"
FRENCH_LANGUAGE = "fr-fr"
SYNTHESIS_TIMEOUT_S = 60.0
INSTALL_HINT = "install it with `apt-get install espeak-ng` (Debian/Ubuntu)"


class SpeechUnavailable(RuntimeError):
    """espeak-ng or its France-French voice is missing: an operator has to install it."""


def pick_french_voice(voices: Sequence[Any]) -> str:
    """The id of espeak-ng's France-French voice, whatever order pyttsx3 lists voices in.

    pyttsx3 lists "French (Belgium)" first; MBROLA voices (ids "mb/…") need extra packages.
    """
    candidates = [
        v for v in voices if FRENCH_LANGUAGE in (v.languages or []) and not v.id.startswith("mb")
    ]
    if not candidates:
        found = sorted({lang for v in voices for lang in (v.languages or [])})
        msg = f"espeak-ng has no France-French ({FRENCH_LANGUAGE}) voice; voices found: {found}"
        raise SpeechUnavailable(msg)
    by_name = [v for v in candidates if "france" in (v.name or "").lower()]
    return (by_name or candidates)[0].id


def check_espeak() -> None:
    """Raise SpeechUnavailable with an operator's hint when espeak-ng cannot be loaded."""
    try:
        import pyttsx3.drivers._espeak  # noqa: F401  (loads libespeak-ng, or raises)
    except (ImportError, OSError, RuntimeError) as exc:
        msg = f"espeak-ng is missing, the voice cannot speak: {INSTALL_HINT} ({exc})"
        raise SpeechUnavailable(msg) from exc


# --- inside a worker process (one per rate) ------------------------------------------------

_engine: Any = None


def _worker_engine(rate: int) -> Any:
    """The process's one pyttsx3 engine, with the French voice and `rate`, checked."""
    global _engine  # pyttsx3 itself keeps one engine per process
    if _engine is None:
        check_espeak()
        import pyttsx3  # only in the worker: it starts espeak-ng
        from pyttsx3.drivers import _espeak
        from pyttsx3.drivers.espeak import EspeakDriver

        # espeak-ng queues voice and rate changes in its asynchronous command queue, and
        # pyttsx3 cancels that queue when a run ends (and only applies engine.setProperty at
        # the next run): set through pyttsx3's queue, the rate came out 175, 200 or the wanted
        # one at random. So set both on the driver and wait until espeak-ng has applied each.
        engine = pyttsx3.init("espeak")
        voice_id = pick_french_voice(engine.getProperty("voices"))
        _espeak.Synchronize()
        EspeakDriver.setProperty("voice", voice_id)
        _espeak.Synchronize()
        EspeakDriver.setProperty("rate", rate)
        _espeak.Synchronize()
        with tempfile.TemporaryDirectory(prefix="guichet-tts-probe-") as tmp:
            _run(engine, "a", Path(tmp, "probe.wav"))
        got = (engine.getProperty("voice"), _current_rate())
        if got != (voice_id, rate):
            msg = f"espeak-ng kept voice/rate {got} instead of {(voice_id, rate)}"
            raise SpeechUnavailable(msg)
        _engine = engine
    return _engine


def _current_rate() -> int:
    """espeak-ng's current rate. pyttsx3's getProperty("rate") declares espeak_GetParameter
    without its `current` argument, so it returns the default (175) or the current value at
    random: call it with both arguments."""
    from pyttsx3.drivers import _espeak

    get_parameter = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_int)(
        ("espeak_GetParameter", _espeak.dll)
    )
    return get_parameter(_espeak.RATE, 1)


def _worker_voice(rate: int) -> tuple[str, int]:
    """(voice id, words per minute) the worker's espeak-ng really uses."""
    engine = _worker_engine(rate)
    return engine.getProperty("voice"), _current_rate()


def _worker_synthesize(text: str, rate: int, tmp_dir: str) -> bytes:
    """16 kHz 16-bit mono PCM of `text` (espeak-ng writes 22.05 kHz WAV files)."""
    engine = _worker_engine(rate)
    path = Path(tmp_dir, f"{uuid.uuid4().hex}.wav")
    try:
        _run(engine, text, path)
        with wave.open(str(path), "rb") as wav:
            if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
                shape = f"{wav.getnchannels()} channel(s), {wav.getsampwidth()} byte(s)"
                msg = f"unexpected WAV from espeak-ng: {shape}"
                raise SpeechUnavailable(msg)
            rate_in, frames = wav.getframerate(), wav.readframes(wav.getnframes())
    finally:
        path.unlink(missing_ok=True)
    resampler = Resampler(rate_in, PCM_RATE)
    return resampler.process(frames) + resampler.flush()


def _run(engine: Any, text: str, path: Path) -> None:
    """Write `text` to a WAV file and wait until espeak-ng has really finished it.

    pyttsx3 2.99's espeak driver returns from runAndWait as soon as synthesis *starts*
    (espeak-ng's retrieval mode is asynchronous); the file is written from espeak-ng's thread,
    just before it notifies "finished-utterance". And when a run starts while espeak-ng is
    still busy, pyttsx3 cancels the new synthesis (no file, or an empty one). So: wait until
    espeak-ng is idle, run, wait for the notification; try once more if it was cut short.
    """
    for attempt in (1, 2):
        if _run_once(engine, text, path):
            return
        log.warning("espeak-ng synthesis cut short (attempt %d): %r", attempt, text[:60])
    msg = f"espeak-ng gave no audio for {text[:60]!r}"
    raise SpeechUnavailable(msg)


def _run_once(engine: Any, text: str, path: Path) -> bool:
    from pyttsx3.drivers import _espeak

    outcome: dict[str, bool] = {}
    finished = threading.Event()

    def on_finished(completed: bool = True, **_: Any) -> None:
        outcome["completed"] = completed
        finished.set()

    token = engine.connect("finished-utterance", on_finished)
    try:
        _espeak.Synchronize()
        # pyttsx3's espeak driver prints "Audio saved to …" for each file: keep logs clean.
        with contextlib.redirect_stdout(io.StringIO()):
            engine.save_to_file(text, str(path))
            engine.runAndWait()
            done = finished.wait(SYNTHESIS_TIMEOUT_S)
    finally:
        engine.disconnect(token)
    if not done:
        msg = f"espeak-ng did not finish within {SYNTHESIS_TIMEOUT_S} s"
        raise SpeechUnavailable(msg)
    if not (outcome.get("completed") and path.exists()):
        return False
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() > 0


# --- in the gateway ------------------------------------------------------------------------


class EspeakSpeech:
    """TextToSpeech (voice/stages.py) with espeak-ng's French voice and a bounded LRU cache."""

    def __init__(
        self,
        *,
        normal_rate: int = NORMAL_RATE,
        slow_rate: int = SLOW_RATE,
        max_entries: int = 512,
        max_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        check_espeak()
        self._rates = {False: normal_rate, True: slow_rate}
        self._pools: dict[bool, ProcessPoolExecutor] = {}
        self._tmp_dir = tempfile.mkdtemp(prefix="guichet-tts-")
        self._cache: OrderedDict[tuple[str, bool], bytes] = OrderedDict()
        self._cache_bytes = 0
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._pending: dict[tuple[str, bool], asyncio.Future[bytes]] = {}
        self._closed = False
        self.syntheses = 0  # runs of espeak-ng, for tests and logs (cache misses)

    async def synthesize(self, text: str, *, slow: bool = False) -> bytes:
        """16 kHz PCM of `text`; a cache hit returns at once, a miss waits for its worker."""
        if self._closed:
            msg = "EspeakSpeech is closed"
            raise RuntimeError(msg)
        if not text.strip():
            return b""  # espeak-ng would never signal the end of an empty text
        key = (text, slow)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._synthesize_uncached(key))
            self._pending[key] = pending
            pending.add_done_callback(lambda done: self._settle(key, done))
        # Shielded: a caller cancelled by barge-in must not cancel what others (and the cache)
        # are waiting for.
        return await asyncio.shield(pending)

    async def warm_up(self, texts: Sequence[str]) -> None:
        """Synthesize fixed prompts at the normal rate, and start the slow worker meanwhile."""
        await asyncio.gather(self.voice(slow=True), *(self.synthesize(t) for t in texts))

    async def voice(self, *, slow: bool = False) -> tuple[str, int]:
        """(espeak-ng voice id, words per minute) of the worker for that rate."""
        return await self._in_worker(slow, _worker_voice, self._rates[slow])

    async def close(self) -> None:
        self._closed = True
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)
        shutil.rmtree(self._tmp_dir, ignore_errors=True)

    async def _synthesize_uncached(self, key: tuple[str, bool]) -> bytes:
        text, slow = key
        self.syntheses += 1
        pcm = await self._in_worker(
            slow, _worker_synthesize, text, self._rates[slow], self._tmp_dir
        )
        self._remember(key, pcm)
        return pcm

    async def _in_worker(self, slow: bool, fn: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            try:
                return await loop.run_in_executor(self._pool(slow), fn, *args)
            except BrokenProcessPool:
                # The worker died (killed, out of memory): start a new one, once.
                log.warning("speech worker (slow=%s) died; restarting it", slow)
                self._pools.pop(slow, None)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _pool(self, slow: bool) -> ProcessPoolExecutor:
        if self._closed:
            msg = "EspeakSpeech is closed"
            raise RuntimeError(msg)
        pool = self._pools.get(slow)
        if pool is None:
            spawn = multiprocessing.get_context("spawn")
            pool = self._pools[slow] = ProcessPoolExecutor(max_workers=1, mp_context=spawn)
        return pool

    def _remember(self, key: tuple[str, bool], pcm: bytes) -> None:
        self._cache[key] = pcm
        self._cache_bytes += len(pcm)
        while self._cache and (
            len(self._cache) > self._max_entries or self._cache_bytes > self._max_bytes
        ):
            _, evicted = self._cache.popitem(last=False)
            self._cache_bytes -= len(evicted)

    def _settle(self, key: tuple[str, bool], done: asyncio.Future[bytes]) -> None:
        self._pending.pop(key, None)
        if not done.cancelled() and done.exception() is not None:
            log.error("speech synthesis failed for %r: %s", key[0][:60], done.exception())
