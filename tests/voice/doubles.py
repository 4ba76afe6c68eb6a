"""Small doubles of the stages around the call loop: a line, a voice, an assistant, an ear.

The "audio" they exchange is the text itself, so a test reads what the caller heard.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence

from voice.stages import BotMessage, CallInfo, Expectation, Key, Utterance


class Line:
    """A call on a fake transport: keys and audio frames pushed by the test."""

    def __init__(self, play_seconds: float = 0.0) -> None:
        self.info = CallInfo("call-1", "phone", masked_caller="06 •• •• •• 78")
        self._keys: asyncio.Queue[Key | None] = asyncio.Queue()
        self._audio: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.play_seconds = play_seconds
        self.heard: list[str] = []  # played to the end
        self.cut: list[str] = []  # stopped by a barge-in
        self.hung_up = False

    def press(self, digits: str) -> None:
        for digit in digits:
            self._keys.put_nowait(Key(digit))

    def speak(self, frame: bytes) -> None:
        self._audio.put_nowait(frame)

    def leave(self) -> None:
        """The caller hangs up."""
        self._audio.put_nowait(None)
        self._keys.put_nowait(None)

    async def audio_in(self) -> AsyncIterator[bytes]:
        while (frame := await self._audio.get()) is not None:
            yield frame

    async def keys_in(self) -> AsyncIterator[Key]:
        while (key := await self._keys.get()) is not None:
            yield key

    async def play(self, pcm: bytes) -> None:
        try:
            await asyncio.sleep(self.play_seconds)
        except asyncio.CancelledError:
            self.cut.append(pcm.decode())
            raise
        self.heard.append(pcm.decode())

    async def hang_up(self) -> None:
        self.hung_up = True
        self.leave()


class Voice:
    """Text-to-speech whose audio is the text, "(lent)" marking the slower voice."""

    def __init__(self) -> None:
        self.slow_texts: list[str] = []

    async def synthesize(self, text: str, *, slow: bool = False) -> bytes:
        if slow:
            self.slow_texts.append(text)
        return text.encode()

    async def warm_up(self, texts: Sequence[str]) -> None:
        return None

    async def close(self) -> None:
        return None


Reply = Callable[[str, bool], list[BotMessage]]


class Assistant:
    """The dialogue stage: answers each message with `reply(text, keyed)`, keeps what it got."""

    def __init__(self, reply: Reply | None = None) -> None:
        self.reply = reply or (lambda text, keyed: [BotMessage(f"réponse à {text}")])
        self.received: list[tuple[str, bool]] = []

    async def send(self, call: CallInfo, text: str, *, keyed: bool = False) -> list[BotMessage]:
        self.received.append((text, keyed))
        return self.reply(text, keyed)


class Ear:
    """Speech-to-text reading frames b"start" (speech begins) and b"said:<text>:<confidence>"."""

    available = True

    def __init__(self) -> None:
        self.expected: list[Expectation] = []
        self.phrases: list[list[str]] = []
        self.closed = False

    def open_stream(self) -> Ear:
        return self

    def expect(self, expectation: Expectation, phrases: Sequence[str] = ()) -> None:
        self.expected.append(expectation)
        self.phrases.append(list(phrases))

    async def feed(self, pcm: bytes) -> Utterance | None:
        self._started = pcm == b"start" or getattr(self, "_started", False)
        if pcm.startswith(b"said:"):
            _, text, confidence = pcm.decode().split(":")
            self._started = False
            return Utterance(text, float(confidence))
        return None

    def speech_started(self) -> bool:
        return getattr(self, "_started", False)

    async def close(self) -> None:
        self.closed = True


class NoEar:
    available = False

    def open_stream(self) -> Ear:
        raise AssertionError("no model: no stream")
