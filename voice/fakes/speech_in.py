"""A scripted recogniser: the dialogue tests over the phone path hear exactly what they planned.

It finds the caller's bursts of speech the way voice/stt.py does (voice/endpoint.py, same
trailing silence), but instead of decoding them it answers each burst with the next
utterance of its script. Any audio louder than silence works: a tone, synthesized speech.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from voice.endpoint import EnergyEndpointer, Event
from voice.stages import FRAME_BYTES, Expectation, Utterance


class ScriptedRecognizer:
    """SpeechToText whose streams answer bursts of audio with the scripted utterances, in order.

    The script is shared by all the streams it opens (one call after the other takes the next
    lines). Strings are heard at full confidence; pass Utterance objects to script doubts.
    Once the script is used up, a burst gives an empty, untrusted utterance.
    """

    def __init__(
        self,
        script: Iterable[str | Utterance] = (),
        *,
        trailing_silence: float = 0.5,
        available: bool = True,
    ) -> None:
        self.available = available
        self.trailing_silence = trailing_silence
        self._script: deque[Utterance] = deque(
            line if isinstance(line, Utterance) else Utterance(text=line, confidence=1.0)
            for line in script
        )
        self.expectations: list[Expectation] = []  # what each utterance was heard under
        self.streams: list[ScriptedStream] = []

    def say(self, *lines: str | Utterance) -> None:
        """Add lines to the script (during a test)."""
        for line in lines:
            self._script.append(
                line if isinstance(line, Utterance) else Utterance(text=line, confidence=1.0)
            )

    def next_utterance(self, expectation: Expectation) -> Utterance:
        self.expectations.append(expectation)
        if not self._script:
            return Utterance(text="", confidence=0.0, in_vocabulary=False)
        return self._script.popleft()

    def open_stream(self) -> ScriptedStream:
        if not self.available:
            raise RuntimeError("speech recognition is off in this test")
        stream = ScriptedStream(self)
        self.streams.append(stream)
        return stream


class ScriptedStream:
    """RecognitionStream of ScriptedRecognizer."""

    def __init__(self, recognizer: ScriptedRecognizer) -> None:
        self._recognizer = recognizer
        self._endpointer = EnergyEndpointer(recognizer.trailing_silence)
        self._buffer = b""
        self.expectation = Expectation.FREE
        self.closed = False

    def expect(self, expectation: Expectation, phrases: Iterable[str] = ()) -> None:
        self.expectation = expectation

    def speech_started(self) -> bool:
        return self._endpointer.speaking

    async def feed(self, pcm: bytes) -> Utterance | None:
        if self.closed:
            return None
        self._buffer += pcm
        while len(self._buffer) >= FRAME_BYTES:
            frame, self._buffer = self._buffer[:FRAME_BYTES], self._buffer[FRAME_BYTES:]
            if self._endpointer.push(frame) is Event.ENDED:
                return self._recognizer.next_utterance(self.expectation)
        return None

    async def close(self) -> None:
        self.closed = True
