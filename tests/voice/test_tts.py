"""EspeakSpeech with the real espeak-ng (Debian package espeak-ng), and the ToneSpeech fake."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import wave
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from voice.fakes.speech_out import ToneSpeech
from voice.stages import PCM_RATE
from voice.tts import NORMAL_RATE, SLOW_RATE, EspeakSpeech, SpeechUnavailable, pick_french_voice

GREETING = "Bonjour, je suis Guichet. Tapez 1 pour oui, 2 pour non."
LONG = (
    "Pour connaître l'état de votre demande de permis de conduire, tapez le numéro de la "
    "demande, puis la touche dièse. Ce numéro est écrit sur le courriel reçu après la demande. "
    "Si vous ne le trouvez pas, dites aide, ou tapez zéro, pour parler à une personne."
)


@pytest.fixture(scope="module")
def tts():
    speech = EspeakSpeech()
    yield speech
    asyncio.run(speech.close())


def _samples(pcm: bytes) -> np.ndarray:
    assert len(pcm) % 2 == 0
    return np.frombuffer(pcm, dtype="<i2")


def test_france_french_voice_is_chosen_at_each_rate(tts):
    assert asyncio.run(tts.voice()) == ("roa/fr", NORMAL_RATE)
    assert asyncio.run(tts.voice(slow=True)) == ("roa/fr", SLOW_RATE)


def test_voice_choice_skips_the_belgian_voice_listed_first():
    voices = [
        SimpleNamespace(id="roa/fr-be", name="French (Belgium)", languages=["fr-be"]),
        SimpleNamespace(id="mb/mb-fr1", name="french-mbrola-1", languages=["fr-fr"]),
        SimpleNamespace(id="roa/fr-ch", name="French (Switzerland)", languages=["fr-ch"]),
        SimpleNamespace(id="roa/fr", name="French (France)", languages=["fr-fr"]),
    ]
    assert pick_french_voice(voices) == "roa/fr"
    with pytest.raises(SpeechUnavailable, match="no France-French"):
        pick_french_voice(voices[:1])


def test_speech_is_16_khz_and_not_silent(tts, tmp_path):
    pcm = asyncio.run(tts.synthesize(GREETING))
    samples = _samples(pcm)
    assert np.sqrt(np.mean(samples.astype(np.float64) ** 2)) > 500  # speech, not silence
    # espeak-ng's own command line, same voice and rate, writes a 22.05 kHz WAV: at 16 kHz the
    # sample count must shrink by 16000/22050 for the same duration.
    wav_path = tmp_path / "ref.wav"
    subprocess.run(
        ["espeak-ng", "-v", "fr", "-s", str(NORMAL_RATE), "-w", str(wav_path), GREETING],
        check=True,
    )
    with wave.open(str(wav_path)) as ref:
        ref_seconds = ref.getnframes() / ref.getframerate()
    assert samples.size / PCM_RATE == pytest.approx(ref_seconds, rel=0.1)


def test_slow_voice_is_longer(tts):
    normal = asyncio.run(tts.synthesize(GREETING))
    slow = asyncio.run(tts.synthesize(GREETING, slow=True))
    assert len(slow) > 1.2 * len(normal)


def test_cache_hit_does_not_synthesize_again(tts):
    first = asyncio.run(tts.synthesize("Votre demande est en cours d'instruction."))
    runs = tts.syntheses
    started = time.monotonic()
    again = asyncio.run(tts.synthesize("Votre demande est en cours d'instruction."))
    assert again == first
    assert tts.syntheses == runs
    assert time.monotonic() - started < 0.05


def test_concurrent_requests_share_workers_without_crashing(tts):
    texts = [f"Réponse numéro {n}." for n in range(4)]

    async def many():
        requests = [tts.synthesize(t, slow=slow) for t in texts for slow in (False, True)]
        requests += [tts.synthesize(texts[0]), tts.synthesize(texts[0])]  # the same, at once
        return await asyncio.gather(*requests)

    runs = tts.syntheses
    results = asyncio.run(many())
    assert all(len(pcm) > PCM_RATE // 2 for pcm in results)
    assert results[-1] == results[-2] == results[0]
    assert tts.syntheses == runs + 8  # the duplicates waited for the first request


def test_event_loop_keeps_running_during_synthesis():
    """A cold start (worker spawn, espeak-ng set-up) and a long text: the loop still ticks."""

    async def ticking():
        speech = EspeakSpeech()
        ticks: list[float] = []

        async def ticker():
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        started = time.monotonic()
        try:
            pcm = await speech.synthesize(" ".join([LONG] * 3), slow=True)
        finally:
            took = time.monotonic() - started
            task.cancel()
            await speech.close()
        return pcm, took, ticks

    pcm, took, ticks = asyncio.run(ticking())
    assert len(pcm) > 2 * 30 * PCM_RATE  # over 30 s of speech
    assert took > 0.2  # long enough for the check below to mean something
    assert len(ticks) >= took / 0.01 / 3
    assert max(np.diff(ticks)) < 0.2


def test_a_cancelled_caller_does_not_lose_the_synthesis(tts):
    """Barge-in cancels the prompt's task; the synthesis still lands in the cache."""
    text = "Je n'ai pas compris, pouvez-vous répéter ?"

    async def barge_in():
        task = asyncio.create_task(tts.synthesize(text))
        await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return await tts.synthesize(text)

    runs = tts.syntheses
    assert len(asyncio.run(barge_in())) > 0
    assert tts.syntheses == runs + 1


def test_empty_text_is_silence_without_synthesis(tts):
    runs = tts.syntheses
    assert asyncio.run(tts.synthesize("  ")) == b""
    assert tts.syntheses == runs


def test_cache_is_bounded():
    async def scenario():
        speech = EspeakSpeech(max_entries=2)
        try:
            for text in ("Oui.", "Non.", "Peut-être.", "Peut-être."):
                await speech.synthesize(text)
            hits = speech.syntheses
            await speech.synthesize("Oui.")  # evicted by the third text
            return hits, speech.syntheses
        finally:
            await speech.close()

    assert asyncio.run(scenario()) == (3, 4)


def test_missing_espeak_is_a_clear_error_for_operators(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyttsx3.drivers._espeak", None)
    with pytest.raises(SpeechUnavailable, match=r"espeak-ng is missing.*apt-get install espeak-ng"):
        EspeakSpeech()


def test_warm_up_fills_the_cache(tts):
    prompts = ["Bienvenue sur Guichet.", "Au revoir."]
    asyncio.run(tts.warm_up(prompts))
    runs = tts.syntheses
    for prompt in prompts:
        asyncio.run(tts.synthesize(prompt))
    assert tts.syntheses == runs


def test_tone_speech_fake_is_deterministic_and_grows_with_text():
    fake = ToneSpeech()
    short = asyncio.run(fake.synthesize("Oui."))
    long = asyncio.run(fake.synthesize("Oui, c'est bien ma demande."))
    assert len(long) > len(short) > 0
    assert asyncio.run(fake.synthesize("Oui.")) == short
    assert len(asyncio.run(fake.synthesize("Oui.", slow=True))) > len(short)
    assert np.abs(_samples(short)).max() > 1000
    assert fake.calls[0] == ("Oui.", False)


def test_module_has_no_tts_left_in_tmp(tts):
    assert Path(tts._tmp_dir).is_dir()
    assert not any(Path(tts._tmp_dir).iterdir())  # each WAV is read, then deleted
