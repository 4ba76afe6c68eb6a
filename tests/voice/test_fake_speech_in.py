"""The scripted recogniser answers each burst of audio with the next line of its script."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from voice.fakes.speech_in import ScriptedRecognizer
from voice.stages import Expectation, Utterance


def burst(seconds: float = 0.4) -> bytes:
    t = np.arange(round(seconds * 16000)) / 16000
    return (6000 * np.sin(2 * np.pi * 300 * t)).astype("<i2").tobytes()


def quiet(seconds: float) -> bytes:
    return bytes(round(seconds * 16000) * 2)


async def feed_in_frames(stream, audio: bytes) -> list[Utterance]:
    heard = []
    for offset in range(0, len(audio), 640):
        utterance = await stream.feed(audio[offset : offset + 640])
        if utterance is not None:
            heard.append(utterance)
    return heard


def test_one_scripted_line_per_burst_of_speech():
    doubt = Utterance(text="bonjour", confidence=0.1, in_vocabulary=False)
    recognizer = ScriptedRecognizer(["oui", doubt])

    async def call() -> list[Utterance]:
        stream = recognizer.open_stream()
        stream.expect(Expectation.YES_NO)
        heard = await feed_in_frames(stream, quiet(1.0) + burst() + quiet(0.6))
        assert not stream.speech_started()
        stream.expect(Expectation.DIGITS)
        heard += await feed_in_frames(stream, burst() + quiet(0.2) + burst() + quiet(0.6))
        heard += await feed_in_frames(stream, burst() + quiet(0.6))
        await stream.close()
        return heard

    heard = asyncio.run(call())
    assert heard == [
        Utterance("oui", 1.0),
        doubt,
        Utterance("", 0.0, in_vocabulary=False),  # script used up
    ]
    assert recognizer.expectations == [Expectation.YES_NO, Expectation.DIGITS, Expectation.DIGITS]


def test_speech_started_is_seen_during_the_burst():
    recognizer = ScriptedRecognizer(["un"])

    async def call() -> bool:
        stream = recognizer.open_stream()
        await feed_in_frames(stream, quiet(0.2) + burst(0.2))
        return stream.speech_started()

    assert asyncio.run(call())


def test_silence_alone_gives_nothing():
    recognizer = ScriptedRecognizer(["oui"])

    async def call() -> list[Utterance]:
        return await feed_in_frames(recognizer.open_stream(), quiet(3.0))

    assert asyncio.run(call()) == []


def test_an_unavailable_recogniser_opens_no_stream():
    recognizer = ScriptedRecognizer(available=False)
    assert not recognizer.available
    with pytest.raises(RuntimeError):
        recognizer.open_stream()
